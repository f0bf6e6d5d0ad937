"""Every path of the hub's route table that a guest session must not open, with its
placeholders filled in: the API and page tests and the guest's browser test walk the same list,
so a route added later is covered without anyone remembering to add it."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from hub.api.guest_gate import guest_may_open

# Which record an {id} names, by the path segment before it.
_ID_OF = {
    "hearings": "hearing",
    "petitions": "petition",
    "offices": "office",
    "sites": "office",
    "alerts": "alert",
    "delegations": "delegation",
}
# Records the demo data has none of: the gate's 404 is checked with a made-up id ("anything":
# the admin's "not 404 without the cookie" check passes over them).
_NONE_SEEDED = {"recordings"}
# Other placeholders, filled with a value of their kind.
_VALUES = {"day": "2026-09-02", "rule": "intake", "name": "anything"}


def gated_requests(router: web.UrlDispatcher, ids: Mapping[str, int]) -> list[tuple[str, str]]:
    """(method, path) of every route a guest session may not open; `ids` holds a real
    hearing, petition, office, alert and guest id. A placeholder this does not know fails
    loudly: a new kind of route must be looked at, not skipped."""
    out: set[tuple[str, str]] = set()
    for route in router.routes():
        resource = route.resource
        if resource is None:
            continue
        pattern = resource.canonical
        segments = pattern.strip("/").split("/")
        filled = []
        for i, segment in enumerate(segments):
            if not (segment.startswith("{") and segment.endswith("}")):
                filled.append(segment)
                continue
            name = segment[1:-1].split(":")[0]
            if name == "id" and i and segments[i - 1] in _NONE_SEEDED:
                filled.append("anything")
            elif name in _VALUES:
                filled.append(_VALUES[name])
            elif name == "id":
                kind = _ID_OF.get(segments[i - 1]) if i else None
                assert kind is not None, f"{pattern}: which record is {{id}}?"
                filled.append(str(ids.get(kind, 1)))  # the seed's first delegation
            elif name in ("petition_id", "guest_id"):
                filled.append(str(ids[name.removesuffix("_id")]))
            elif name == "tail":
                filled.append("anything")
            elif name in ("token", "code"):
                filled.append("x")  # /guest/{token}, /lang/{code}: a guest's own
            else:
                raise AssertionError(f"{pattern}: unknown placeholder {{{name}}}")
        path = "/" + "/".join(filled) if filled != [""] else "/"
        if pattern.endswith("/") and path != "/":
            path += "/"
        if not guest_may_open(path):
            out.add((route.method, path))
    return sorted(out)

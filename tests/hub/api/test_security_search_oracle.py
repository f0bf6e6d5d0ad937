"""Issue 7, item 3: the register's search is not an oracle on personal data.

Reproduced before the fix: a text search matched the petitioner's address and ID number; only
the rows returned were audited, and `total` with an offset past the last page told whether
anything matched, so 44 requests (digit by digit, never a row read) recovered a citizen's full
ID number. Now a plain search matches the case only; `personal=true` is needed to match the
name, address and ID number (the ID whole only), it is audited even when nothing matches, and
its answer has no total.
"""

from __future__ import annotations

import itertools
from typing import Any

from tests.hub.client import Api, ThreadedHub, assert_error, petition_body, unique

SERIAL = itertools.count(1)
PAST_THE_END = 10_000


def _id_number() -> str:
    # A 12-digit number no other test registers.
    return f"0331{next(SERIAL):02d}{abs(hash(unique())) % 10**6:06d}"


async def _petition(api: Api, hub: ThreadedHub, **fields: Any) -> dict[str, Any]:
    body = petition_body(hub.office("HY"), **fields)
    reply = await api.post("/api/v1/petitions", user="staff.hungyen", json=body)
    assert reply.status == 201, reply.text
    return reply.json


async def _search(api: Api, user: str = "staff.hungyen", **params: Any) -> dict[str, Any]:
    reply = await api.get("/api/v1/petitions", user=user, params=params)
    assert reply.status == 200, reply.text
    return reply.json


async def test_security_the_id_number_cannot_be_recovered_through_totals(
    api: Api, hub: ThreadedHub
) -> None:
    secret = _id_number()
    await _petition(api, hub, petitioner_id_number=secret)
    reads_before = await _audit_total(api)

    # The attack: grow a prefix digit by digit, asking only for a page past the end, so that
    # no row is returned (and none audited) while `total` says whether the prefix matched.
    for personal in ("false", "true"):
        recovered = "0331"
        while len(recovered) < len(secret):
            for digit in "0123456789":
                if await _leaks(api, recovered + digit, personal):
                    recovered += digit
                    break
            else:
                break
        assert recovered == "0331", f"the totals gave away {recovered!r} of {secret!r}"
    # No search showed a row, so none was audited as a read.
    assert await _audit_total(api) == reads_before


async def _leaks(api: Api, prefix: str, personal: str) -> bool:
    """Whether a page past the end says that something matched the prefix."""
    mode = {"personal": "true"} if personal == "true" else {}  # a plain search says nothing
    page = await _search(api, text=prefix, offset=PAST_THE_END, **mode)
    assert page["items"] == [] and not page.get("has_more")
    return bool(page["total"])


async def test_security_a_plain_search_does_not_match_personal_data(
    api: Api, hub: ThreadedHub
) -> None:
    word, place, surname = unique("vu"), unique("thon"), unique("ho")
    secret = _id_number()
    petition = await _petition(
        api,
        hub,
        petitioner_name=f"Nguyễn {surname}",
        petitioner_address=f"Thôn {place}, xã Lạc Hồng",
        petitioner_id_number=secret,
        content=f"Khiếu nại việc {word} thu hồi đất.",
    )
    for text in (secret, place, surname, secret[:6]):
        page = await _search(api, text=text)
        assert (page["items"], page["total"]) == ([], 0), text
    found = await _search(api, text=word)
    assert [p["id"] for p in found["items"]] == [petition["id"]] and found["total"] == 1


async def test_security_a_personal_search_is_deliberate_exact_on_the_id_and_has_no_total(
    api: Api, hub: ThreadedHub
) -> None:
    place, surname = unique("xom"), unique("le")
    secret = _id_number()
    petition = await _petition(
        api,
        hub,
        petitioner_name=f"Lê Văn {surname}",
        petitioner_address=f"Xóm {place}, huyện Văn Lâm",
        petitioner_id_number=secret,
    )
    for text in (secret, place, surname, f"van {surname}"):
        page = await _search(api, text=text, personal="true")
        assert [p["id"] for p in page["items"]] == [petition["id"]], text
        assert page["total"] is None and page["has_more"] is False, page
    # The ID number is matched whole: a prefix of it finds nothing.
    assert (await _search(api, text=secret[:-1], personal="true"))["items"] == []
    # Past the end: nothing shown, nothing told.
    past = await _search(api, text=secret, personal="true", offset=PAST_THE_END)
    assert past == {"items": [], "total": None, "has_more": False}
    # Scope holds as for any search: Bắc Giang does not find Hưng Yên's citizen.
    assert (await _search(api, "staff.bacgiang", text=secret, personal="true"))["items"] == []
    assert_error(
        await api.get("/api/v1/petitions", user="staff.hungyen", params={"personal": "true"}),
        422,
        field="text",
    )


async def test_security_every_personal_search_is_audited_even_with_no_match(
    api: Api, hub: ThreadedHub
) -> None:
    secret = _id_number()
    nobody = _id_number()
    petition = await _petition(api, hub, petitioner_id_number=secret)
    await _search(api, text=nobody, personal="true", type="complaint")
    await _search(api, text=secret, personal="true")
    entries = await _search_audit(api)
    by_query = {e["query"]: e for e in entries}
    miss, hit = by_query[nobody], by_query[secret]
    assert miss["username"] == "staff.hungyen" and miss["office_id"] == hub.office("HY")
    assert (miss["matched"], miss["returned"]) == (0, 0)
    assert miss["filters"]["type"] == "complaint" and miss["at"]
    assert (hit["matched"], hit["returned"]) == (1, 1)
    # The row it showed is a read of that petition, marked as found by a personal search.
    reads = await _audit_reads(api, petition_id=petition["id"])
    assert "personal_search" in {r["action"] for r in reads}
    # Only auditors read the audit; a province's auditor would see only its own offices'.
    assert_error(await api.get("/api/v1/audit/searches", user="staff.hungyen"), 403)


async def _search_audit(api: Api) -> list[dict[str, Any]]:
    reply = await api.get("/api/v1/audit/searches", user="admin", params={"limit": 200})
    assert reply.status == 200, reply.text
    return list(reply.json["items"])


async def _audit_total(api: Api) -> int:
    reply = await api.get("/api/v1/audit", user="admin", params={"limit": 1})
    assert reply.status == 200, reply.text
    return int(reply.json["total"])


async def _audit_reads(api: Api, **params: Any) -> list[dict[str, Any]]:
    reply = await api.get("/api/v1/audit", user="admin", params={"limit": 200, **params})
    assert reply.status == 200, reply.text
    return list(reply.json["items"])

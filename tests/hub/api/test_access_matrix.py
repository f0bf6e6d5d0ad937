"""The office-scoped access matrix: every demo user (role x office) against every resource.

The expected status of each cell is derived here, independently of the services, from two rules:
PERMISSIONS in hub/domain/users.py says what a role may do at all (403 when it may not), and the
office tree says what is in a user's scope (an office sees its own and its descendants' records,
the central office sees all; a hearing is seen by its host's and its sites' scopes, and only the
host side edits or runs it). Records outside the scope answer 404, exactly like records that do
not exist, so their existence does not leak.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from hub.domain.users import PERMISSIONS, Action, Role
from tests.hub.client import (
    DEMO_USERS,
    Api,
    ThreadedHub,
    assert_error,
    assert_list,
    hearing_body,
    local,
    petition_body,
    today_vn,
    unique,
)

# Hearings of the matrix: (host office, site offices), by code.
HEARINGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "H_TW": ("TW", ("HY", "BG")),  # the centre with two provinces
    "H_TW_VANLAM": ("TW", ("HY.VANLAM",)),  # the centre with a district only
    "H_HY": ("HY", ("HY.VANLAM",)),
    "H_VANLAM": ("HY.VANLAM", ()),
    "H_BG": ("BG", ("BG.LUCNGAN",)),
}
# Petitions of the matrix, by the office that received them.
PETITIONS = {"P_TW": "TW", "P_HY": "HY", "P_VANLAM": "HY.VANLAM", "P_BG": "BG"}
LINKS = [("H_HY", "P_HY"), ("H_TW", "P_BG"), ("H_BG", "P_BG"), ("H_TW_VANLAM", "P_VANLAM")]
# Matrix hearings start this many days ahead: a window no other test schedules in.
DAYS_AHEAD = 700


def office_of(user: str) -> str:
    return DEMO_USERS[user][1]


def may(user: str, action: Action) -> bool:
    return action in PERMISSIONS[Role(DEMO_USERS[user][0])]


def sees(user: str, office: str) -> bool:
    """The scope rule, on office codes (the demo codes spell out the tree: HY.VANLAM is in HY)."""
    mine = office_of(user)
    return mine == "TW" or office == mine or office.startswith(mine + ".")


def visible(user: str, hearing: str) -> bool:
    host, sites = HEARINGS[hearing]
    return sees(user, host) or any(sees(user, s) for s in sites)


def host_side(user: str, hearing: str) -> bool:
    return sees(user, HEARINGS[hearing][0])


def guard(user: str, action: Action, *checks: tuple[bool, int], ok: int = 200) -> int:
    """403 without the permission; otherwise the first failing check's status, else ok."""
    if not may(user, action):
        return 403
    for passed, status in checks:
        if not passed:
            return status
    return ok


def expected(user: str, resource: str, target: str) -> Any:
    """The status (or, for lists, the visible set) a user should get."""
    hearing_rules = {
        "hearing.read": lambda: guard(user, Action.READ_HEARINGS, (visible(user, target), 404)),
        "hearing.log": lambda: guard(user, Action.READ_HEARINGS, (visible(user, target), 404)),
        "hearing.edit": lambda: guard(
            user, Action.EDIT_HEARINGS, (visible(user, target), 404), (host_side(user, target), 403)
        ),
        "hearing.cancel": lambda: guard(
            user, Action.EDIT_HEARINGS, (visible(user, target), 404), (host_side(user, target), 403)
        ),
        "hearing.start": lambda: guard(
            user, Action.RUN_HEARINGS, (visible(user, target), 404), (host_side(user, target), 403)
        ),
        "hearing.note": lambda: guard(
            user, Action.WRITE_LOG_NOTES, (visible(user, target), 404), ok=201
        ),
        # A seat for the user's own office: a participant, or an office above the host.
        "hearing.join_token": lambda: guard(
            user,
            Action.RUN_HEARINGS,
            (visible(user, target), 404),
            (
                office_of(user) in (HEARINGS[target][0], *HEARINGS[target][1])
                or host_side(user, target),
                422,
            ),
            ok=201,
        ),
    }
    if resource in hearing_rules:
        return hearing_rules[resource]()
    if resource == "hearings.list":
        return {h for h in HEARINGS if visible(user, h)}
    if resource == "hearing.create":
        return guard(user, Action.EDIT_HEARINGS, (sees(user, target), 422), ok=201)
    if resource in ("petition.read", "petition.edit"):
        action = Action.READ_PETITIONS if resource == "petition.read" else Action.EDIT_PETITIONS
        return guard(user, action, (sees(user, PETITIONS[target]), 404))
    if resource == "petitions.list":
        if not may(user, Action.READ_PETITIONS):
            return 403
        return {p for p, office in PETITIONS.items() if sees(user, office)}
    if resource == "petition.create":
        return guard(user, Action.EDIT_PETITIONS, (sees(user, target), 422), ok=201)
    if resource in ("petition.link", "petition.unlink"):
        hearing, petition = target.split("+")
        return guard(
            user,
            Action.LINK_PETITIONS,
            (visible(user, hearing), 404),
            (sees(user, PETITIONS[petition]), 404),
        )
    if resource == "offices.list":
        return 200
    if resource == "office.create":
        return guard(user, Action.MANAGE_OFFICES, ok=201)
    if resource == "audit":
        return guard(user, Action.READ_AUDIT)
    raise AssertionError(resource)


TARGETS: dict[str, list[str]] = {
    "offices.list": ["-"],
    "office.create": ["HY"],
    "hearings.list": ["-"],
    **{
        r: list(HEARINGS)
        for r in (
            "hearing.read",
            "hearing.log",
            "hearing.edit",
            "hearing.start",
            "hearing.cancel",
            "hearing.note",
            "hearing.join_token",
        )
    },
    "hearing.create": ["HY", "BG"],
    "petitions.list": ["-"],
    "petition.read": list(PETITIONS),
    "petition.edit": list(PETITIONS),
    "petition.create": ["HY", "BG"],
    "petition.link": [f"{h}+{p}" for h, p in LINKS],
    "petition.unlink": [f"{h}+{p}" for h, p in LINKS],
    "audit": ["-"],
}


@dataclass(frozen=True)
class Case:
    user: str
    resource: str
    target: str

    @property
    def id(self) -> str:
        return f"{self.user}:{self.resource}:{self.target}"


CASES = [
    Case(user, resource, target)
    for user in DEMO_USERS
    for resource, targets in TARGETS.items()
    for target in targets
]


@pytest.fixture(scope="module")
def records(hub: ThreadedHub) -> dict[str, Any]:
    """The matrix's hearings and petitions, made by the central admin; ids by name."""
    word = unique("matrix")
    made: dict[str, Any] = {"word": word}
    for name in HEARINGS:
        made[name] = new_hearing(hub, name)
    for name, office in PETITIONS.items():
        body = petition_body(hub.office(office), content=f"Đơn thử quyền truy cập {word}.")
        reply = hub.call("POST", "/api/v1/petitions", user="admin", json=body)
        assert reply.status == 201, reply.text
        made[name] = reply.json["id"]
    return made


def new_hearing(hub: ThreadedHub, shape: str) -> int:
    host, sites = HEARINGS[shape]
    body = hearing_body(
        hub.office(host), [hub.office(s) for s in sites], days_ahead=DAYS_AHEAD, title=shape
    )
    reply = hub.call("POST", "/api/v1/hearings", user="admin", json=body)
    assert reply.status == 201, reply.text
    return int(reply.json["id"])


Runner = Callable[[Api, ThreadedHub, dict[str, Any], Case], Any]


async def _hearings_list(api: Api, hub: ThreadedHub, rec: dict[str, Any], case: Case) -> Any:
    day = today_vn() + timedelta(days=DAYS_AHEAD)
    window = {
        "starts_from": local(day, 0).isoformat(),
        "starts_to": local(day + timedelta(days=1), 0).isoformat(),
        "limit": "200",
    }
    reply = await api.get("/api/v1/hearings", user=case.user, params=window)
    ids = {h["id"] for h in assert_list(reply)}
    return {name for name in HEARINGS if rec[name] in ids}


async def _petitions_list(api: Api, hub: ThreadedHub, rec: dict[str, Any], case: Case) -> Any:
    reply = await api.get("/api/v1/petitions", user=case.user, params={"text": rec["word"]})
    if reply.status != 200:
        assert_error(reply, reply.status)
        return reply.status
    ids = {p["id"] for p in assert_list(reply)}
    return {name for name in PETITIONS if rec[name] in ids}


async def _status(api: Api, hub: ThreadedHub, rec: dict[str, Any], case: Case) -> int:
    user, t = case.user, case.target
    r = case.resource
    if r == "offices.list":
        reply = await api.get("/api/v1/offices", user=user)
    elif r == "office.create":
        body = {
            "code": f"HY.{unique('M').upper()}",
            "name": "Xã thử quyền",
            "level": "commune",
            "parent_id": hub.office(t),
        }
        reply = await api.post("/api/v1/offices", user=user, json=body)
    elif r == "hearing.read":
        reply = await api.get(f"/api/v1/hearings/{rec[t]}", user=user)
    elif r == "hearing.log":
        reply = await api.get(f"/api/v1/hearings/{rec[t]}/log", user=user)
    elif r == "hearing.edit":
        reply = await api.patch(
            f"/api/v1/hearings/{rec[t]}", user=user, json={"description": f"sửa bởi {user}"}
        )
    elif r in ("hearing.start", "hearing.cancel"):
        fresh = new_hearing(hub, t)  # each attempt on a hearing of its own
        action = r.split(".")[1]
        reply = await api.post(f"/api/v1/hearings/{fresh}/{action}", user=user)
        if reply.status == 200:
            assert reply.json["status"] == {"start": "live", "cancel": "cancelled"}[action]
    elif r == "hearing.note":
        reply = await api.post(
            f"/api/v1/hearings/{rec[t]}/log", user=user, json={"text": f"ghi chú của {user}"}
        )
    elif r == "hearing.join_token":
        reply = await api.post(f"/api/v1/hearings/{rec[t]}/join-token", user=user)
    elif r == "hearing.create":
        body = hearing_body(hub.office(t), days_ahead=DAYS_AHEAD + 5)
        reply = await api.post("/api/v1/hearings", user=user, json=body)
    elif r == "petition.read":
        reply = await api.get(f"/api/v1/petitions/{rec[t]}", user=user)
    elif r == "petition.edit":
        reply = await api.patch(
            f"/api/v1/petitions/{rec[t]}", user=user, json={"subject_field": f"Đất đai ({user})"}
        )
    elif r == "petition.create":
        reply = await api.post("/api/v1/petitions", user=user, json=petition_body(hub.office(t)))
    elif r in ("petition.link", "petition.unlink"):
        hearing, petition = (rec[n] for n in t.split("+"))
        path = f"/api/v1/hearings/{hearing}/petitions/{petition}"
        if r == "petition.link":
            reply = await api.post(path, user=user)
        else:
            assert (await api.post(path, user="admin")).status == 200  # linked beforehand
            reply = await api.delete(path, user=user)
    elif r == "audit":
        reply = await api.get("/api/v1/audit", user=user)
    else:
        raise AssertionError(r)
    if reply.status >= 400:
        assert_error(reply, reply.status)
    return reply.status


RUNNERS: dict[str, Runner] = {"hearings.list": _hearings_list, "petitions.list": _petitions_list}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_access(api: Api, hub: ThreadedHub, records: dict[str, Any], case: Case) -> None:
    run = RUNNERS.get(case.resource, _status)
    assert await run(api, hub, records, case) == expected(case.user, case.resource, case.target)


# --- the rules the matrix encodes, spelled out ---------------------------------------------------


def test_the_matrix_covers_every_role_at_every_office() -> None:
    assert {(role, office) for role, office in DEMO_USERS.values()} >= {
        ("admin", "TW"),
        ("leader", "TW"),
        ("staff", "TW"),
        ("operator", "TW"),
        ("staff", "HY"),
        ("leader", "HY"),
        ("operator", "HY"),
        ("staff", "BG"),
    }
    # A few cells written out by hand, so the derivation above is itself checked.
    assert expected("staff.hungyen", "petition.read", "P_BG") == 404
    assert expected("staff.hungyen", "petition.read", "P_VANLAM") == 200
    assert expected("operator.hungyen", "petition.read", "P_HY") == 403
    assert expected("staff.bacgiang", "hearing.read", "H_TW") == 200
    assert expected("staff.bacgiang", "hearing.read", "H_HY") == 404
    assert expected("staff.hungyen", "hearing.start", "H_TW") == 403
    assert expected("leader.hungyen", "hearing.start", "H_VANLAM") == 200
    assert expected("staff", "audit", "-") == 403


async def test_an_out_of_scope_petition_answers_exactly_like_a_missing_one(
    api: Api, records: dict[str, Any]
) -> None:
    bac_giang = records["P_BG"]
    missing = 2_000_000_000
    for user in ("staff.hungyen", "leader.hungyen"):
        hidden = assert_error(await api.get(f"/api/v1/petitions/{bac_giang}", user=user), 404)
        absent = assert_error(await api.get(f"/api/v1/petitions/{missing}", user=user), 404)
        assert hidden == {
            **absent,
            "message": absent["message"].replace(str(missing), str(bac_giang)),
        }

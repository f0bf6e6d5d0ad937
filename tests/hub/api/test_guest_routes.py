"""A hearing's guests over the API and the pages: invited by the host side's staff, a personal
link shown once with its QR code, the guest page and its clear "expired"/"revoked"/"invalid"
answers, and a guest session's 404 for every record the route table holds."""

from __future__ import annotations

from typing import Any

from tests.guest_gate_routes import gated_requests
from tests.hub.client import Api, ThreadedHub, assert_error, assert_list, hearing_body

POLICE = {
    "name": "Trần Văn Bình",
    "position": "Phó Trưởng phòng",
    "agency": "Công an tỉnh Hưng Yên",
    "agency_kind": "police",
}


async def hy_hearing(api: Api, hub: ThreadedHub) -> dict[str, Any]:
    reply = await api.post(
        "/api/v1/hearings",
        user="staff.hungyen",
        json=hearing_body(hub.office("HY"), [hub.office("HY.VANLAM")]),
    )
    assert reply.status == 201, reply.text
    return reply.json


async def invited(api: Api, hub: ThreadedHub) -> tuple[int, int, dict[str, Any]]:
    """(hearing id, guest id, the new link's answer) for a police guest of a Hưng Yên hearing."""
    hid = (await hy_hearing(api, hub))["id"]
    reply = await api.post(f"/api/v1/hearings/{hid}/guests", user="staff.hungyen", json=POLICE)
    assert reply.status == 201, reply.text
    guest = reply.json
    assert guest["link_state"] == "none" and guest["name"] == POLICE["name"]
    link = await api.post(f"/api/v1/hearings/{hid}/guests/{guest['id']}/link", user="staff.hungyen")
    assert link.status == 201, link.text
    return hid, guest["id"], link.json


def guest_cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"tcd_guest={token}"}


async def test_staff_invite_a_guest_and_issue_a_link_with_its_qr_code(
    api: Api, hub: ThreadedHub
) -> None:
    hid, guest_id, link = await invited(api, hub)
    token = link["token"]
    assert token.startswith("g.") and link["url"].endswith(f"/guest/{token}")
    assert link["url"].startswith(hub.url)
    assert link["qr_svg"].startswith("data:image/svg+xml")
    assert link["guest"]["link_state"] == "active"
    listed = assert_list(await api.get(f"/api/v1/hearings/{hid}/guests", user="staff.hungyen"))
    assert [(g["id"], g["agency"], g["link_state"]) for g in listed] == [
        (guest_id, "Công an tỉnh Hưng Yên", "active")
    ]
    # The list never carries a token (the hub keeps none it could show).
    reply = await api.get(f"/api/v1/hearings/{hid}/guests", user="staff.hungyen")
    assert token not in reply.text and "token" not in reply.text
    # The staff page lists the guest and offers its card; the card page names it.
    page = await api.get(f"/staff/hearings/{hid}", user="staff.hungyen")
    assert page.status == 200 and "Trần Văn Bình" in page.text
    assert f"/staff/hearings/{hid}/guests/{guest_id}/card" in page.text
    card = await api.get(f"/staff/hearings/{hid}/guests/{guest_id}/card", user="staff.hungyen")
    assert card.status == 200 and "Công an tỉnh Hưng Yên" in card.text
    assert token not in card.text


async def test_guest_bodies_are_checked_field_by_field(api: Api, hub: ThreadedHub) -> None:
    hid = (await hy_hearing(api, hub))["id"]
    before = hub.counts()
    path = f"/api/v1/hearings/{hid}/guests"
    no_agency = {k: v for k, v in POLICE.items() if k != "agency"}
    assert_error(await api.post(path, user="staff.hungyen", json=no_agency), 422, field="agency")
    bad_kind = {**POLICE, "agency_kind": "army"}
    assert_error(
        await api.post(path, user="staff.hungyen", json=bad_kind), 422, field="agency_kind"
    )
    blank = {**POLICE, "name": "   "}
    assert_error(await api.post(path, user="staff.hungyen", json=blank), 422, field="name")
    assert hub.counts() == before


async def test_security_out_of_scope_staff_get_404_for_guests(api: Api, hub: ThreadedHub) -> None:
    hid, guest_id, _link = await invited(api, hub)
    before = hub.counts()
    base = f"/api/v1/hearings/{hid}/guests"
    for method, path in [
        ("GET", base),
        ("POST", f"{base}/{guest_id}/link"),
        ("POST", f"{base}/{guest_id}/revoke"),
        ("DELETE", f"{base}/{guest_id}"),
        ("GET", f"/staff/hearings/{hid}/guests/{guest_id}/card"),
    ]:
        reply = await api.call(method, path, user="staff.bacgiang")
        assert reply.status == 404, (method, path, reply.status)
    assert_error(await api.post(base, user="staff.bacgiang", json=POLICE), 404)
    # In scope, but the leader does not edit hearings: inviting is the staff's.
    assert_error(await api.post(base, user="leader.hungyen", json=POLICE), 403)
    assert hub.counts() == before


async def test_the_guest_page_opens_with_the_link_and_says_when_it_no_longer_does(
    api: Api, hub: ThreadedHub
) -> None:
    hid, guest_id, link = await invited(api, hub)
    token = link["token"]
    page = await api.get(f"/guest/{token}")
    assert page.status == 200, page.text[:300]
    assert "Trần Văn Bình" in page.text and "Công an tỉnh Hưng Yên" in page.text
    cookie = page.headers.get("Set-Cookie", "")
    assert cookie.startswith("tcd_guest=") and "HttpOnly" in cookie and "Strict" in cookie

    forged = await api.get("/guest/g.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert forged.status == 404 and 'data-reason="invalid"' in forged.text
    # No guest session for a link that opens nothing (any earlier one is ended).
    assert "Max-Age=0" in forged.headers.get("Set-Cookie", "")

    revoked = await api.post(
        f"/api/v1/hearings/{hid}/guests/{guest_id}/revoke", user="staff.hungyen"
    )
    assert revoked.status == 200 and revoked.json["link_state"] == "revoked"
    page = await api.get(f"/guest/{token}")
    assert page.status == 410 and 'data-reason="revoked"' in page.text

    fresh = await api.post(f"/api/v1/hearings/{hid}/guests/{guest_id}/link", user="staff.hungyen")
    assert (await api.get(f"/guest/{fresh.json['token']}")).status == 200
    assert (await api.get(f"/guest/{token}")).status == 404  # replaced
    cancelled = await api.post(f"/api/v1/hearings/{hid}/cancel", user="staff.hungyen", json={})
    assert cancelled.status == 200, cancelled.text
    page = await api.get(f"/guest/{fresh.json['token']}")
    assert page.status == 410 and 'data-reason="expired"' in page.text
    # Gone with the hearing: no new link, no new guest.
    assert_error(
        await api.post(f"/api/v1/hearings/{hid}/guests/{guest_id}/link", user="staff.hungyen"), 409
    )


async def test_security_a_guest_session_gets_404_for_every_record_in_the_route_table(
    api: Api, hub: ThreadedHub
) -> None:
    hid, guest_id, link = await invited(api, hub)
    petition = await api.post(
        "/api/v1/petitions",
        user="staff.hungyen",
        json={
            "type": "complaint",
            "office_id": hub.office("HY"),
            "petitioner_name": "Nguyễn Thị Hoa",
            "content": "Khiếu nại việc thu hồi đất.",
            "source": "in_person",
            "received_on": "2026-11-30",
        },
    )
    assert petition.status == 201, petition.text
    ids = {
        "hearing": hid,
        "petition": petition.json["id"],
        "office": hub.office("HY"),
        "alert": 1,
        "guest": guest_id,
    }
    requests = gated_requests(hub.server.app.router, ids)
    paths = {path for _method, path in requests}
    # The list is the route table's, not one written here: the records are in it.
    assert {
        f"/api/v1/petitions/{ids['petition']}",
        "/api/v1/petitions",
        f"/api/v1/hearings/{hid}",
        f"/api/v1/hearings/{hid}/log",
        f"/api/v1/hearings/{hid}/guests",
        "/staff/petitions",
        f"/staff/petitions/{ids['petition']}",
        f"/staff/hearings/{hid}",
        f"/hearings/{hid}/join",
        "/api/v1/users",
        "/metrics",
    } <= paths
    assert len(requests) >= 60
    before = hub.counts()
    cookie = guest_cookie(link["token"])
    bearer = {"Authorization": f"Bearer {link['token']}"}
    opened = []
    for method, path in requests:
        # As a bare guest, as a guest whose browser also holds a staff sign-in, and with the
        # link's token as a bearer token.
        for user, headers in ((None, cookie), ("staff.hungyen", cookie), (None, bearer)):
            reply = await api.call(method, path, user=user, headers=headers)
            if reply.status != 404:
                opened.append((method, path, user, reply.status))
            assert "Trần Văn Bình" not in reply.text and "Nguyễn Thị Hoa" not in reply.text
    assert opened == []
    assert hub.counts() == before
    # The 404s are the gate's: the same staff member without the guest cookie reads them.
    for method, path in requests:
        if method == "GET" and "anything" not in path and path != "/static":
            reply = await api.call(method, path, user="admin")
            assert reply.status != 404, (path, reply.status)
    # What the guest's page needs still opens.
    assert (await api.get(f"/guest/{link['token']}", headers=cookie)).status == 200
    assert (await api.get("/static/js/join.js", headers=cookie)).status == 200

"""Issue 7, item 1: invitations are scoped.

Reproduced before the fix: staff.hungyen created a hearing inviting Bắc Giang's office, and any
office could name (and list) any leader in the country as its chair. The rule: a hearing's sites
lie in its host office's subtree (the central office's subtree is the whole tree), on create and
on every change; the chair is an active leader of the host office or an office under it.
"""

from __future__ import annotations

from typing import Any

from tests.hub.client import Api, ThreadedHub, assert_error, assert_list, hearing_body


async def _create(api: Api, body: dict[str, Any], user: str) -> dict[str, Any]:
    reply = await api.post("/api/v1/hearings", user=user, json=body)
    assert reply.status == 201, reply.text
    return reply.json


async def test_security_a_province_cannot_invite_another_provinces_site(
    api: Api, hub: ThreadedHub
) -> None:
    before = hub.counts()
    body = hearing_body(hub.office("HY"), [hub.office("HY.VANLAM"), hub.office("BG")])
    error = assert_error(
        await api.post("/api/v1/hearings", user="staff.hungyen", json=body),
        422,
        field="site_office_ids",
        says="Ban Tiếp công dân tỉnh Bắc Giang",
    )
    assert "Ban Tiếp công dân tỉnh Hưng Yên" in error["fields"]["site_office_ids"]
    assert hub.counts() == before, "a refused hearing wrote something"
    # The same refusal when the central office's staff schedule it for Hưng Yên.
    assert_error(
        await api.post("/api/v1/hearings", user="staff", json=body), 422, field="site_office_ids"
    )
    # A periodic series is refused as a whole, not occurrence by occurrence.
    series = hearing_body(
        hub.office("HY"), [hub.office("BG")], kind="periodic", recurrence="FREQ=WEEKLY;COUNT=3"
    )
    assert_error(
        await api.post("/api/v1/hearings", user="staff.hungyen", json=series),
        422,
        field="site_office_ids",
    )
    assert hub.counts() == before


async def test_security_sites_in_the_host_subtree_and_anywhere_for_the_central_office(
    api: Api, hub: ThreadedHub
) -> None:
    own = await _create(
        api,
        hearing_body(hub.office("HY"), [hub.office("HY.VANLAM"), hub.office("HY.PHOHIEN")]),
        "staff.hungyen",
    )
    assert sorted(own["site_office_ids"]) == sorted(
        [hub.office("HY.VANLAM"), hub.office("HY.PHOHIEN")]
    )
    central = await _create(
        api, hearing_body(hub.office("TW"), [hub.office("HY"), hub.office("BG.LUCNGAN")]), "staff"
    )
    assert sorted(central["site_office_ids"]) == sorted(
        [hub.office("HY"), hub.office("BG.LUCNGAN")]
    )


async def test_security_a_change_cannot_add_a_site_outside_the_host_subtree(
    api: Api, hub: ThreadedHub
) -> None:
    hearing = await _create(
        api, hearing_body(hub.office("HY"), [hub.office("HY.VANLAM")]), "staff.hungyen"
    )
    path = f"/api/v1/hearings/{hearing['id']}"
    before = hub.counts()
    for user in ("staff.hungyen", "staff"):
        assert_error(
            await api.patch(
                path,
                user=user,
                json={"site_office_ids": [hub.office("HY.VANLAM"), hub.office("BG")]},
            ),
            422,
            field="site_office_ids",
            says="Bắc Giang",
        )
    assert hub.counts() == before
    unchanged = await api.get(path, user="staff.hungyen")
    assert unchanged.json["site_office_ids"] == [hub.office("HY.VANLAM")]
    # Bắc Giang was never invited, so it does not see the hearing.
    assert_error(await api.get(path, user="staff.bacgiang"), 404)


async def test_security_the_chair_must_be_a_leader_under_the_host_office(
    api: Api, hub: ThreadedHub
) -> None:
    before = hub.counts()
    # The central office's leader is above Hưng Yên, not in its scope.
    for user in ("staff.hungyen", "staff"):
        body = hearing_body(hub.office("HY"), chair_user_id=hub.user("leader"))
        assert_error(
            await api.post("/api/v1/hearings", user=user, json=body),
            422,
            field="chair_user_id",
            says="Ban Tiếp công dân tỉnh Hưng Yên",
        )
    assert hub.counts() == before
    hearing = await _create(
        api, hearing_body(hub.office("HY"), chair_user_id=hub.user("leader.hungyen")), "staff"
    )
    assert hearing["chair_name"] == "Chủ tịch UBND tỉnh Hưng Yên"
    before = hub.counts()
    assert_error(
        await api.patch(
            f"/api/v1/hearings/{hearing['id']}",
            user="staff.hungyen",
            json={"chair_user_id": hub.user("leader")},
        ),
        422,
        field="chair_user_id",
    )
    assert hub.counts() == before
    # A central hearing may be chaired by a province's leader: Hưng Yên lies under the centre.
    await _create(
        api, hearing_body(hub.office("TW"), chair_user_id=hub.user("leader.hungyen")), "staff"
    )


async def test_security_the_chair_picker_lists_only_leaders_under_the_host(
    api: Api, hub: ThreadedHub
) -> None:
    leaders = assert_list(
        await api.get(
            "/api/v1/users", user="staff", params={"role": "leader", "office": hub.office("HY")}
        )
    )
    assert [u["username"] for u in leaders] == ["leader.hungyen"]
    everyone = assert_list(
        await api.get(
            "/api/v1/users", user="staff", params={"role": "leader", "office": hub.office("TW")}
        )
    )
    assert {"leader", "leader.hungyen"} <= {u["username"] for u in everyone}
    assert {u["role"] for u in everyone} == {"leader"}
    # Hưng Yên's staff cannot list Bắc Giang's people, nor the centre's.
    for office in ("BG", "TW"):
        assert_error(
            await api.get(
                "/api/v1/users",
                user="staff.hungyen",
                params={"role": "leader", "office": hub.office(office)},
            ),
            422,
            field="office",
        )
    own = assert_list(
        await api.get("/api/v1/users", user="staff.hungyen", params={"role": "leader"})
    )
    assert [u["username"] for u in own] == ["leader.hungyen"]
    assert_error(
        await api.get("/api/v1/users", user="staff", params={"role": "chief"}), 422, field="role"
    )

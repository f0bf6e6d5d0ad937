"""The office directory and adding offices and accounts."""

from __future__ import annotations

from tests.hub.client import Api, ThreadedHub, assert_error, assert_list, petition_body, unique

CONTRACT = {"id", "code", "name", "level", "parent_id", "has_bridge_point"}


async def test_every_signed_in_user_reads_the_office_tree(api: Api, hub: ThreadedHub) -> None:
    items = assert_list(await api.get("/api/v1/offices", user="operator.hungyen"))
    by_code = {o["code"]: o for o in items}
    assert all(CONTRACT <= o.keys() for o in items)
    assert by_code["TW"]["level"] == "central" and by_code["TW"]["parent_id"] is None
    assert by_code["HY"]["parent_id"] == by_code["TW"]["id"]
    assert by_code["HY.VANLAM"]["parent_id"] == by_code["HY"]["id"]
    assert by_code["TN.TANBIEN"]["name"] == "Ban Tiếp công dân huyện Tân Biên"
    assert by_code["BG.LUCNGAN.TANSON"]["has_bridge_point"] is False
    # Listed along the tree: a parent before its children.
    position = {o["code"]: i for i, o in enumerate(items)}
    assert position["HY"] < position["HY.VANLAM"] and position["TN"] < position["TN.TANBIEN.TANLAP"]


async def test_the_directory_filters_by_level_and_bridge_point(api: Api) -> None:
    provinces = assert_list(await api.get("/api/v1/offices?level=province", user="staff"))
    assert {o["code"] for o in provinces} >= {"HY", "BG", "HP", "TN"}
    assert {o["level"] for o in provinces} == {"province"}
    bridges = assert_list(await api.get("/api/v1/offices?bridge_only=true", user="staff"))
    assert "BG.LUCNGAN.TANSON" not in {o["code"] for o in bridges}
    assert all(o["has_bridge_point"] for o in bridges)


async def test_an_admin_adds_a_commune_that_falls_into_the_provinces_scope(
    api: Api, hub: ThreadedHub
) -> None:
    code = f"HY.{unique('C').upper()}"
    body = {"code": code, "name": "Xã Minh Hải", "level": "commune", "parent_id": hub.office("HY")}
    created = await api.post("/api/v1/offices", user="admin", json=body)
    assert created.status == 201, created.text
    office = created.json
    assert CONTRACT <= office.keys()
    assert (office["code"], office["parent_id"], office["has_bridge_point"]) == (
        code,
        hub.office("HY"),
        True,
    )
    listed = assert_list(await api.get("/api/v1/offices", user="staff.bacgiang"))
    assert code in {o["code"] for o in listed}

    # A petition received at the new commune is in Hưng Yên's register, not in Bắc Giang's.
    petition = await api.post("/api/v1/petitions", user="admin", json=petition_body(office["id"]))
    assert petition.status == 201, petition.text
    pid = petition.json["id"]
    assert (await api.get(f"/api/v1/petitions/{pid}", user="staff.hungyen")).status == 200
    assert_error(await api.get(f"/api/v1/petitions/{pid}", user="staff.bacgiang"), 404)


async def test_bad_offices_are_refused_by_field(api: Api, hub: ThreadedHub) -> None:
    hy = hub.office("HY")
    before = hub.counts()
    cases = [
        ({"code": "HY", "name": "Trùng mã", "level": "province", "parent_id": 1}, 409, "code"),
        ({"code": "hy.lower", "name": "Xã", "level": "commune", "parent_id": hy}, 422, "code"),
        ({"code": "HY.C1", "name": "Xã", "level": "Commune", "parent_id": hy}, 422, "level"),
        ({"code": "HY.C2", "name": "Xã", "level": "central", "parent_id": hy}, 422, "parent_id"),
        ({"code": "HY.C3", "name": "Xã", "level": "commune", "parent_id": 99999}, 422, "parent_id"),
        ({"code": "HY.C4", "name": " ", "level": "commune", "parent_id": hy}, 422, "name"),
        ({"code": "HY.C5", "name": "Xã", "level": "commune"}, 422, "parent_id"),
    ]
    for body, status, field in cases:
        assert_error(
            await api.post("/api/v1/offices", user="admin", json=body), status, field=field
        )
    assert hub.counts() == before


async def test_an_admin_adds_an_account_that_can_sign_in(api: Api, hub: ThreadedHub) -> None:
    username = unique("canbo")
    body = {
        "username": username,
        "display_name": "Cán bộ Phố Hiến",
        "role": "staff",
        "office_id": hub.office("HY.PHOHIEN"),
        "password": "mat-khau-1",
    }
    created = await api.post("/api/v1/users", user="admin", json=body)
    assert created.status == 201, created.text
    assert "password" not in created.text and "argon2" not in created.text
    signin = await api.post(
        "/api/v1/auth/login", json={"username": username, "password": "mat-khau-1"}
    )
    assert signin.json["user"]["office_id"] == hub.office("HY.PHOHIEN")
    assert_error(await api.post("/api/v1/users", user="admin", json=body), 409, field="username")
    assert_error(await api.post("/api/v1/users", user="staff", json=body), 403)


async def test_users_are_listed_within_the_office_scope(api: Api) -> None:
    hy = {u["username"] for u in assert_list(await api.get("/api/v1/users", user="staff.hungyen"))}
    assert {"staff.hungyen", "leader.hungyen", "operator.hungyen"} <= hy
    assert not hy & {"admin", "staff", "staff.bacgiang"}
    everyone = assert_list(await api.get("/api/v1/users", user="admin"))
    assert all("password_hash" not in u for u in everyone)

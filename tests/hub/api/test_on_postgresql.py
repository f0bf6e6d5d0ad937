"""The API served from PostgreSQL: the same answers as on SQLite, including for bad input."""

from __future__ import annotations

import pytest

from hub.domain.petitions import fold
from tests.hub.client import (
    Api,
    ThreadedHub,
    assert_error,
    assert_list,
    hearing_body,
    petition_body,
)

pytestmark = pytest.mark.postgres


async def test_the_records_round_trip_through_the_api(pg_api: Api, pg_hub: ThreadedHub) -> None:
    hy, vanlam = pg_hub.office("HY"), pg_hub.office("HY.VANLAM")
    hearing = await pg_api.post(
        "/api/v1/hearings",
        user="staff.hungyen",
        json=hearing_body(hy, [vanlam], kind="periodic", recurrence="FREQ=WEEKLY;COUNT=3"),
    )
    assert hearing.status == 201, hearing.text
    assert len(hearing.json["occurrences"]) == 3
    petition = await pg_api.post(
        "/api/v1/petitions",
        user="staff.hungyen",
        json=petition_body(vanlam, petitioner_name="Đinh Văn Thắng", crowd=True, people_count=5),
    )
    assert petition.status == 201, petition.text
    hid, pid = hearing.json["id"], petition.json["id"]
    link = await pg_api.post(
        f"/api/v1/hearings/{hid}/petitions/{pid}", user="leader.hungyen", json={"heard_from": "now"}
    )
    assert link.status == 200
    seen = (await pg_api.get(f"/api/v1/petitions/{pid}", user="staff.hungyen")).json
    assert [h["hearing_id"] for h in seen["hearings"]] == [hid]
    for text in ("thang", "Thắng", "đinh", "dinh van th"):
        # The petitioner's name: personal data, searched only on purpose (and audited).
        if "thang" in fold(text):  # ("đinh" is also a word of the content: "quy định")
            plain = assert_list(await pg_api.get(f"/api/v1/petitions?text={text}", user="admin"))
            assert pid not in {p["id"] for p in plain}, text
        reply = await pg_api.get(f"/api/v1/petitions?text={text}&personal=true", user="admin")
        assert reply.status == 200 and reply.json["total"] is None, reply.text
        assert pid in {p["id"] for p in reply.json["items"]}, text
    case = f"/api/v1/petitions?text=thu hoi dat&office={vanlam}"
    found = assert_list(await pg_api.get(case, user="admin"))
    assert pid in {p["id"] for p in found}
    assert_error(await pg_api.get(f"/api/v1/petitions/{pid}", user="staff.bacgiang"), 404)


@pytest.mark.parametrize("path", ["/api/v1/hearings/9999999999", "/api/v1/petitions/9999999999"])
async def test_an_id_beyond_the_integer_range_is_404(pg_api: Api, path: str) -> None:
    assert_error(await pg_api.get(path, user="staff"), 404)


async def test_a_nul_character_in_text_is_refused_by_field(
    pg_api: Api, pg_hub: ThreadedHub
) -> None:
    before = pg_hub.counts()
    body = petition_body(pg_hub.office("HY"), petitioner_name="Nguyễn\u0000An")
    reply = await pg_api.post("/api/v1/petitions", user="staff.hungyen", json=body)
    assert pg_hub.counts() == before
    assert_error(reply, 422, field="petitioner_name")


async def test_self_test_results_round_trip(pg_api: Api, pg_hub: ThreadedHub) -> None:
    hy = pg_hub.office("HY")
    first = await pg_api.post(
        "/api/v1/self-tests",
        user="staff.hungyen",
        json={"score": "good", "figures": {"rtt_ms": 3.5, "video_height": 240}},
    )
    second = await pg_api.post(
        "/api/v1/self-tests",
        user="leader.hungyen",
        json={"score": "okay", "reasons": ["speaker_unconfirmed"]},
    )
    assert first.status == 201 and second.status == 201, (first.text, second.text)
    listed = assert_list(await pg_api.get(f"/api/v1/self-tests?office_id={hy}", user="operator"))
    assert [i["id"] for i in listed[:2]] == [second.json["id"], first.json["id"]]
    assert listed[1]["figures"] == {"rtt_ms": 3.5, "video_height": 240}
    latest = assert_list(await pg_api.get("/api/v1/self-tests?latest=true", user="operator"))
    assert [(i["score"], i["reasons"]) for i in latest if i["office_id"] == hy] == [
        ("okay", ["speaker_unconfirmed"])
    ]

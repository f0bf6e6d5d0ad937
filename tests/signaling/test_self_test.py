"""self_test: a site's media comes straight back from the hub (an echo room), in the serving
process and on media workers; nothing reaches a session log; bad requests are refused by name."""

from __future__ import annotations

import pytest

from hub.config import Settings
from rooms.self_test import is_self_test_room
from signaling.server import SIGNALING_KEY
from signaling.site_agent import SiteAgent
from tests.signaling.conftest import Hub
from tests.signaling.live_hub import Client, clip, error_code, wait_for

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(params=[0, 1], ids=["in-process", "media-worker"])
def settings(request: pytest.FixtureRequest) -> Settings:
    return Settings(ice_announced_ips=("127.0.0.1",), media_workers=request.param)


async def test_a_sites_own_media_comes_back_and_nothing_is_logged(hub: Hub) -> None:
    backend = hub.app[SIGNALING_KEY].rooms
    site = SiteAgent(hub.url, "site2", 0, clip=clip(), self_test=True)
    try:
        await site.start()
        own = str(site.participant_id)
        # Its own video and audio, looped through the hub's forwarding.
        await wait_for(
            lambda: (
                site.stats().received_video.get(own, 0) >= 30
                and site.stats().received_audio.get(own, 0) >= 20
            ),
            15,
            "the site's own media echoed back",
        )
        assert site.participants == {}, "nobody else is in a self-test"
        assert len(backend) == 1
        # A second test on the same socket waits for the first to end.
        assert error_code(await site.call("self_test", {})) == "conflict"
        # A hearing neither: leave first.
        assert error_code(await site.call("join", {"hearing_id": 1})) == "conflict"
        assert (await site.call("leave", {}))["ok"] is True
        await wait_for(lambda: len(backend) == 0, 10, "the echo room closed after the leave")
    finally:
        await site.close()
    # A self-test is no hearing: not a line in any session log.
    assert [r for r in hub.gateway.records if is_self_test_room(r["hearing_id"])] == []
    assert hub.gateway.records == []


async def test_bad_self_tests_are_refused_by_name(hub: Hub) -> None:
    staff = await Client().connect(hub.url, "site3")
    link = await Client().connect(hub.url, "join-h2")
    try:
        ack = await staff.call("self_test", {"seconds": 2})
        assert error_code(ack) == "invalid_message"
        assert "seconds" in ack["error"]["message"], ack
        ack = await staff.call("self_test", {"seconds": 10, "camera": True})
        assert error_code(ack) == "invalid_message" and "camera" in ack["error"]["message"]
        # A join link holds one hearing's seat and no account to keep a result under.
        ack = await link.call("self_test", {})
        assert error_code(ack) == "forbidden" and "self-test" in ack["error"]["message"]
        # Not in a test, so nothing to answer or leave.
        assert error_code(await staff.call("leave", {})) == "not_joined"
    finally:
        await staff.close()
        await link.close()


async def test_a_test_left_running_is_ended_by_the_hub(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No grace past its seconds: the shortest test (5 s) ends at 5 s.
    monkeypatch.setattr("signaling.self_test.GRACE_SECONDS", 0.0)
    backend = hub.app[SIGNALING_KEY].rooms
    left = await Client().connect(hub.url, "site4")
    try:
        ack = await left.call("self_test", {"seconds": 5})
        assert ack["ok"] is True and ack["seconds"] == 5 and ack["room_id"] < 0, ack
        await wait_for(lambda: bool(left.of("self_test_ended")), 9, "the hub ending the test")
        assert left.of("self_test_ended") == [
            {
                "room_id": ack["room_id"],
                "participant_id": ack["participant_id"],
                "reason": "time_up",
            }
        ]
        await wait_for(lambda: len(backend) == 0, 10, "its room closed")
        # The socket stays: the next test may begin.
        again = await left.call("self_test", {"seconds": 5})
        assert again["ok"] is True and again["room_id"] != ack["room_id"], again
    finally:
        await left.close()

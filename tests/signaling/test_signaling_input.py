"""Bad input is refused clearly, the connection stays up and the room is unharmed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio

Hub = Any


class Client:
    """A bare Socket.IO client that records server events."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.sio.on("*", self._record)

    async def _record(self, event: str, data: Any = None) -> None:
        self.events.append((event, data))

    async def connect(self, url: str, token: str | None) -> None:
        auth = {"token": token} if token is not None else None
        await self.sio.connect(url, auth=auth, transports=["websocket"], wait_timeout=5)

    async def call(self, event: str, *data: Any) -> Any:
        return await self.sio.call(event, *data, timeout=10)

    async def wait_event(self, name: str, within: float = 5.0) -> Any:
        for _ in range(int(within / 0.02)):
            for event, data in self.events:
                if event == name:
                    return data
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {name} event; got {self.events}")


@pytest.fixture
async def client(hub: Hub) -> AsyncIterator[Client]:
    c = Client()
    await c.connect(hub.url, "site1")
    yield c
    await c.sio.disconnect()


def error_code(ack: Any) -> str:
    assert isinstance(ack, dict) and ack["ok"] is False, ack
    assert ack["error"]["message"]
    return str(ack["error"]["code"])


async def test_connection_without_a_valid_token_is_refused_with_a_reason(hub: Hub) -> None:
    for token, reason in ((None, "no token"), ("bogus", "invalid token"), ("expired", "expired")):
        c = Client()
        refusals: list[Any] = []
        c.sio.on("connect_error", refusals.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await c.connect(hub.url, token)
        assert refusals and reason in refusals[0]["message"]


async def test_session_cookie_authenticates(hub: Hub) -> None:
    c = socketio.AsyncClient(reconnection=False)
    await c.connect(hub.url, headers={"Cookie": "tcd_session=site2"}, transports=["websocket"])
    ack = await c.call("join", {"hearing_id": 1})
    assert ack["ok"] is True
    await c.disconnect()


async def test_malformed_and_mistyped_messages(client: Client) -> None:
    assert error_code(await client.call("join", {"hearing_id": "1"})) == "invalid_message"
    assert error_code(await client.call("join", "not an object")) == "invalid_message"
    assert error_code(await client.call("join", {"hearing_id": 1, "extra": 2})) == "invalid_message"
    assert error_code(await client.call("join")) == "invalid_message"
    assert error_code(await client.call("mute", {"audio_muted": "yes", "video_muted": False})) in (
        "invalid_message",
    )
    # Still connected and usable.
    assert (await client.call("join", {"hearing_id": 1}))["ok"] is True


async def test_unknown_event_gets_an_error_event_and_an_error_ack(client: Client) -> None:
    await client.sio.emit("teleport", {"to": "mars"})
    error = await client.wait_event("error")
    assert error["code"] == "unknown_event" and error["event"] == "teleport"
    assert error_code(await client.call("teleport", {})) == "unknown_event"
    assert client.sio.connected


async def test_failed_event_without_ack_gets_an_error_event(client: Client) -> None:
    await client.sio.emit("offer", {"sdp": "v=0", "type": "offer"})
    error = await client.wait_event("error")
    assert error == {"code": "not_joined", "message": "join a hearing first", "event": "offer"}


async def test_oversized_messages_are_refused(client: Client, hub: Hub) -> None:
    assert (await client.call("join", {"hearing_id": 1}))["ok"] is True
    big_sdp = "v=0\r\n" + "a=x\r\n" * (hub.settings.max_sdp_bytes // 5 + 10)
    ack = await client.call("offer", {"sdp": big_sdp, "type": "offer"})
    assert error_code(ack) == "invalid_message" and "limit" in ack["error"]["message"]
    huge = "x" * (hub.settings.max_signaling_message_bytes + 10)
    ack = await client.call("mute", {"audio_muted": True, "video_muted": False, "pad": huge})
    assert error_code(ack) == "message_too_large"
    assert client.sio.connected
    assert (await client.call("mute", {"audio_muted": True, "video_muted": False}))["ok"] is True


HOSTILE_SDP = [
    "hello",
    "v=0\r\n\x01\x02",
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 96\r\n"
    "a=rtpmap:96\r\n",
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n",
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    + "".join(f"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:{i}\r\n" for i in range(50)),
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
    "a=mid:0\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n",  # no ICE credentials, no fingerprint
]


async def test_hostile_sdp_is_rejected_and_the_room_is_unharmed(client: Client, hub: Hub) -> None:
    other = Client()
    await other.connect(hub.url, "site2")
    assert (await other.call("join", {"hearing_id": 1}))["ok"] is True
    assert (await client.call("join", {"hearing_id": 1}))["ok"] is True
    for sdp in HOSTILE_SDP:
        ack = await client.call("offer", {"sdp": sdp, "type": "offer"})
        assert error_code(ack) in ("invalid_sdp", "invalid_message"), (sdp, ack)
    ack = await client.call("answer", {"sdp": "v=0\r\n", "type": "answer", "revision": 1})
    assert error_code(ack) == "conflict"
    ack = await client.call("ice_candidate", {"candidate": "candidate:garbage", "sdpMid": "0"})
    assert ack["ok"] is True  # buffered: nothing to apply it to yet
    # Both participants are still there.
    assert (await other.call("mute", {"audio_muted": False, "video_muted": True}))["ok"] is True
    state = await client.wait_event("mute_state")
    assert state["video_muted"] is True
    await other.sio.disconnect()


async def test_join_outside_the_tokens_scope(hub: Hub) -> None:
    c = Client()
    await c.connect(hub.url, "join-h2")
    assert error_code(await c.call("join", {"hearing_id": 1})) == "not_found"
    assert error_code(await c.call("join", {"hearing_id": 999})) == "not_found"
    await c.sio.disconnect()
    c = Client()
    await c.connect(hub.url, "site1")
    assert error_code(await c.call("join", {"hearing_id": 3})) == "conflict"
    await c.sio.disconnect()


async def test_join_leave_flood_is_rate_limited_and_the_room_survives(
    client: Client, hub: Hub
) -> None:
    other = Client()
    await other.connect(hub.url, "site2")
    assert (await other.call("join", {"hearing_id": 1}))["ok"] is True
    codes = []
    for _ in range(15):
        for event, data in (("join", {"hearing_id": 1}), ("leave", {})):
            ack = await client.call(event, data)
            codes.append("ok" if ack["ok"] else ack["error"]["code"])
    assert "rate_limited" in codes
    assert client.sio.connected
    # The other participant never left and still gets events.
    assert (await other.call("mute", {"audio_muted": True, "video_muted": True}))["ok"] is True
    joined = [r for r in hub.gateway.records if r["kind"] == "participant_joined"]
    assert joined[0]["office_id"] == 2
    await other.sio.disconnect()


async def test_offer_from_a_joined_site_is_answered_and_logged(hub: Hub) -> None:
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    from rooms.aiortc_internals import restrict_host_candidates

    c = Client()
    await c.connect(hub.url, "site1")
    ack = await c.call("join", {"hearing_id": 1})
    assert ack["hearing"] == {"id": 1, "title": "Joint hearing", "status": "live"}
    assert ack["participants"][0]["office_name"] == "Office 1"
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("audio")
    pc.addTransceiver("video")
    restrict_host_candidates(pc, ["127.0.0.1"])
    await pc.setLocalDescription(await pc.createOffer())
    ack = await c.call("offer", {"sdp": pc.localDescription.sdp, "type": "offer"})
    assert ack["ok"] is True and ack["type"] == "answer"
    # Media is only ever announced on the configured address.
    candidates = [line for line in ack["sdp"].splitlines() if line.startswith("a=candidate")]
    assert candidates and all(" 127.0.0.1 " in line for line in candidates)
    await pc.setRemoteDescription(RTCSessionDescription(ack["sdp"], "answer"))
    assert error_code(await c.call("offer", {"sdp": pc.localDescription.sdp, "type": "offer"}))
    await c.sio.disconnect()
    await pc.close()
    for _ in range(100):
        if "participant_dropped" in hub.gateway.kinds():
            break
        await asyncio.sleep(0.05)
    assert hub.gateway.kinds()[:1] == ["participant_joined"]
    assert "participant_dropped" in hub.gateway.kinds()

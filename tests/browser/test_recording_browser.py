"""Recording a live hearing of three real Chromium sites: started and stopped from the hearing
page, shown on every site, written by the media worker without transcoding, then read back with
PyAV (tracks, lengths, the petition's chapter and a seek to it), played on the playback page,
audited, and out of reach (404) of a user outside the hearing's scope."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import av
import pytest
from jsonschema import Draft202012Validator
from playwright.async_api import expect
from sqlalchemy import select

from hub.storage.db import Database
from hub.storage.tables import RecordingAccessRow
from signaling.site_agent import SiteAgent, encode_clip
from tests.browser.serve import hub_settings
from tests.browser.sites import PASSWORD, HubApi, OpenSite, SitePage
from tests.browser.test_hearing_page import _all_playing, _assert_console_clean, _join_in_turn
from tests.fixtures_hub import HubServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

HOST, PROVINCE_1, PROVINCE_2 = "leader", "leader.hungyen", "staff.bacgiang"


async def documented(
    http: aiohttp.ClientSession,
    base_url: str,
    method: str,
    template: str,
    body: Any,
    status: int = 200,
) -> None:
    """The answer fits its schema in the hub's OpenAPI document (these two operations answer
    2xx only with a live room: tests/hub/api/test_openapi.py leaves them to this test)."""
    async with http.get(base_url + "/api/v1/openapi.json") as response:
        doc = await response.json()
    schema = doc["paths"][template][method]["responses"][str(status)]["content"][
        "application/json"
    ]["schema"]
    errors = list(
        Draft202012Validator({**schema, "components": doc["components"]}).iter_errors(body)
    )
    assert not errors, [e.message for e in errors[:3]]


def track_spans(path: Path) -> dict[int, tuple[str, str, float, float]]:
    """Per stream: kind, title, first and last packet time (seconds)."""
    spans: dict[int, tuple[str, str, float, float]] = {}
    with av.open(str(path)) as container:
        titles = {s.index: s.metadata.get("title", "") for s in container.streams}
        for packet in container.demux():
            if packet.pts is None:
                continue
            at = float(packet.pts * packet.time_base)
            index = packet.stream.index
            kind, title, first, last = spans.get(index, (packet.stream.type, titles[index], at, at))
            spans[index] = (kind, title, min(first, at), max(last, at))
    return spans


def first_frame_after_seek(path: Path, seconds: float) -> list[float]:
    """Seek every video track to `seconds`, to the first keyframe at or after it (the Cues of
    the file: no decoding of what lies before), and return the time of the first frame each
    decodes from there."""
    out = []
    with av.open(str(path)) as container:
        for stream in container.streams.video:
            container.seek(round(seconds / stream.time_base), stream=stream, backward=False)
            frame = next(container.decode(stream))
            assert frame.time is not None and frame.key_frame, frame
            out.append(float(frame.time))
    return out


async def _agents(
    hub: HubServer, api: HubApi, hearing_id: int, codes: list[str]
) -> list[SiteAgent]:
    """Site agents (aiortc, a pre-encoded VP8 clip and a tone) joined with join tokens."""
    offices = await api.offices_by_code()
    clip = await asyncio.to_thread(encode_clip, 1.0)
    agents = []
    for code in codes:
        token = await api.join_token(hearing_id, offices[code]["id"])
        agent = SiteAgent(hub.url, token, hearing_id, clip=clip)
        await agent.start()
        agents.append(agent)
    return agents


async def _shown_everywhere(sites: list[SitePage], agents: list[SiteAgent], on: bool) -> None:
    """Every site shows (a browser: its badge) or was told (an agent: the event) that the
    recording is on, or off."""
    for site in sites:
        state = "on" if on else "off"
        await site.page.wait_for_selector(f"#hearing[data-recording={state}]", timeout=60_000)
        assert await site.page.is_visible("#recording-badge") == on, site.username
    for agent in agents:
        for _ in range(600):
            told = [d for e, d in agent.events if e == "recording"]
            if told and told[-1]["recording"] == on:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"agent {agent.participant_id} was not told: {told}")


@pytest.mark.parametrize(
    "with_agents", [False, True], ids=["three-chromium", "chromium-and-agents"]
)
async def test_three_sites_recorded_and_played_back(
    open_site: OpenSite, api: HubApi, hub: HubServer, tmp_path: Path, with_agents: bool
) -> None:
    """Three Chromium sites; or, lighter on a loaded machine, the host's Chromium and two site
    agents publishing a pre-encoded clip (the brief allows it): the same checks."""
    users = (HOST,) if with_agents else (HOST, PROVINCE_1, PROVINCE_2)
    sites = [await open_site(u) for u in users]
    offices = await api.offices_by_code()
    hearing_id = await api.live_hearing(
        "Phiên tiếp công dân ghi hình",
        offices["TW"]["id"],
        [offices["HY"]["id"], offices["BG"]["id"]],
    )
    petition = await api.call(
        "POST",
        "/api/v1/petitions",
        {
            "type": "complaint",
            "office_id": offices["TW"]["id"],
            "petitioner_name": "Trần Thị Hoa",
            "content": "Khiếu nại về việc cấp giấy chứng nhận quyền sử dụng đất.",
            "subject_field": "Đất đai",
            "received_on": datetime.now().date().isoformat(),
        },
    )
    await api.call("POST", f"/api/v1/hearings/{hearing_id}/petitions/{petition['id']}")
    await _join_in_turn(sites, hearing_id, lambda _timing: None)
    agents = await _agents(hub, api, hearing_id, ["HY", "BG"]) if with_agents else []
    try:
        for agent in agents:
            for _ in range(200):
                if agent.participant_id:
                    break
                await asyncio.sleep(0.1)
            await sites[0].admit(str(agent.participant_id), timeout_ms=30_000)
        if agents:
            await sites[0].wait_playing([str(a.participant_id) for a in agents], 30_000)
        else:
            await _all_playing(sites)
        await _record_and_check(sites, agents, api, hub, tmp_path, hearing_id, petition, offices)
    finally:
        for agent in agents:
            await agent.close()


async def _record_and_check(
    sites: list[SitePage],
    agents: list[SiteAgent],
    api: HubApi,
    hub: HubServer,
    tmp_path: Path,
    hearing_id: int,
    petition: dict[str, Any],
    offices: dict[str, dict[str, Any]],
) -> None:
    leader = sites[0].page

    # The leader starts recording with the page's button; every site shows it.
    await leader.click("#btn-record")
    await _shown_everywhere(sites, agents, True)
    await asyncio.sleep(2.5)

    # Petition X is heard for a while (the leader's "now hearing" control).
    item = leader.locator(f'#petition-list li[data-petition-id="{petition["id"]}"]')
    try:
        await expect(item.locator("button")).to_be_enabled(timeout=20_000)
    except AssertionError as error:
        panel = await leader.inner_html("#petition-panel")
        raise AssertionError(f"{panel}; console: {sites[0].console_errors}") from error
    await item.locator("button").click()
    await leader.wait_for_selector(
        f'#petition-list li[data-petition-id="{petition["id"]}"][data-current=true]'
    )
    await asyncio.sleep(3.0)
    await item.locator("button").click()
    await leader.wait_for_selector(
        f'#petition-list li[data-petition-id="{petition["id"]}"][data-current=false]'
    )
    await asyncio.sleep(2.0)

    # Stopped through the API by the host office's staff: the answer comes once the files are
    # finished, and it is the documented one; every page hears of it.
    async with aiohttp.ClientSession() as http:
        stop = f"{hub.url}/api/v1/hearings/{hearing_id}/recordings/stop"
        headers = {"Authorization": f"Bearer {api.token}"}
        async with http.post(stop, headers=headers) as response:
            assert response.status == 200, await response.text()
            recording = await response.json()
        await documented(http, hub.url, "post", "/api/v1/hearings/{id}/recordings/stop", recording)
    await _shown_everywhere(sites, agents, False)

    listed = await api.get(f"/api/v1/hearings/{hearing_id}/recordings")
    assert [r["id"] for r in listed["items"]] == [recording["id"]]
    assert recording["status"] == "finished", recording
    duration = float(recording["duration_s"])
    # The test waits 7.5 s in all between start and stop, and a site's video starts on its
    # first keyframe after the start: the file is a little shorter than the wait, never much.
    assert 7.0 < duration < 40.0, duration
    assert [s["office_id"] for s in recording["sites"]] == sorted(
        [offices["TW"]["id"], offices["HY"]["id"], offices["BG"]["id"]]
    )

    # The session log: who started it, and the file's SHA-256 at the stop.
    log = await api.log(hearing_id)
    started = [e for e in log if e["kind"] == "recording_started"]
    stopped = [e for e in log if e["kind"] == "recording_stopped"]
    assert len(started) == 1 and started[0]["user_id"] == sites[0].user["id"]
    assert len(stopped) == 1 and stopped[0]["detail"]["sha256"] == recording["sha256"]

    # The file, downloaded through the API (audited), is the one the log's hash names.
    path = tmp_path / "recording.mkv"
    headers = {"Authorization": f"Bearer {api.token}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(hub.url + recording["file_url"], headers=headers) as response:
            assert response.status == 200, await response.text()
            path.write_bytes(await response.read())
    assert hashlib.sha256(path.read_bytes()).hexdigest() == recording["sha256"]

    # Read back with PyAV: three video and three audio tracks, each as long as the recording.
    spans = track_spans(path)
    kinds = sorted(kind for kind, *_ in spans.values())
    assert kinds == ["audio"] * 3 + ["video"] * 3, spans
    for kind, title, first, last in spans.values():
        assert first < 1.0, spans
        assert abs((last - first) - duration) < 1.0, (kind, title, first, last, duration)
    with av.open(str(path)) as container:
        codecs = sorted(s.codec_context.name for s in container.streams)
        assert codecs == ["opus"] * 3 + ["vp8"] * 3 or "h264" in codecs, codecs
        chapters = container.chapters()
    assert [c["metadata"]["title"] for c in chapters] == [petition["case_code"]], chapters

    # The chapter starts where the petition's heard_from falls in the recording...
    hearing = await api.get(f"/api/v1/hearings/{hearing_id}")
    heard = next(p for p in hearing["petitions"] if p["petition_id"] == petition["id"])
    heard_from = datetime.fromisoformat(heard["heard_from"])
    heard_at = (heard_from - datetime.fromisoformat(recording["started_at"])).total_seconds()
    chapter_at = float(chapters[0]["start"] * chapters[0]["time_base"])
    assert abs(chapter_at - heard_at) < 1.0, (chapter_at, heard_at)
    assert 2.0 < chapter_at < duration
    # ... and seeking to it lands within 1 s of heard_from on every site's video.
    landed = first_frame_after_seek(path, chapter_at)
    assert len(landed) == 3
    for at in landed:
        assert abs(at - heard_at) < 1.0, (landed, heard_at)

    # The playback page plays every site in sync and jumps to petition X.
    await leader.goto(f"/recordings/{recording['id']}")
    await leader.wait_for_function(
        "() => [...document.querySelectorAll('#players video')].length === 3 && "
        "[...document.querySelectorAll('#players video')].every((v) => v.readyState >= 1 && "
        "v.duration > 0)",
        timeout=20_000,
    )
    await leader.click("#chapters button")
    await leader.wait_for_function(
        "() => window.tcdPlayer.sites.every((s) => !s.video.paused && s.video.currentTime > 0)",
        timeout=15_000,
    )
    positions: list[dict[str, Any]] = await leader.evaluate(
        """() => window.tcdPlayer.sites.map((s) => ({
             clock: window.tcdPlayer.time(), offset: s.offset_s, at: s.video.currentTime }))"""
    )
    for position in positions:
        # Each site's video is where the shared clock says (its offset taken off), near X.
        assert abs(position["at"] + position["offset"] - position["clock"]) < 0.6, positions
        assert abs(position["clock"] - chapter_at) < 2.0, positions
    _assert_console_clean(sites)

    # Every playback is audited: the page, each file it played, the download above.
    database = Database.from_settings(hub_settings(tmp_path / "hub"))
    try:
        async with database.transaction() as session:
            rows = (
                (
                    await session.execute(
                        select(RecordingAccessRow).where(
                            RecordingAccessRow.recording_id == recording["id"]
                        )
                    )
                )
                .scalars()
                .all()
            )
            actions = {(row.user_id, row.action) for row in rows}
    finally:
        await database.close()
    assert (sites[0].user["id"], "open playback page") in actions, actions
    assert (api.user["id"], "play recording.mkv") in actions, actions
    site_files = {a for user, a in actions if user == sites[0].user["id"] and a.endswith(".webm")}
    assert len(site_files) == 3, actions

    # A second recording started through the API (the documented answer), stopped on the page.
    async with aiohttp.ClientSession() as http:
        start = f"{hub.url}/api/v1/hearings/{hearing_id}/recordings"
        async with http.post(start, headers=headers) as response:
            assert response.status == 201, await response.text()
            second = await response.json()
        await documented(http, hub.url, "post", "/api/v1/hearings/{id}/recordings", second, 201)
    await leader.goto(f"/hearings/{hearing_id}/join")
    await leader.wait_for_selector("#hearing[data-recording=on]", timeout=20_000)
    await leader.click("#btn-record")
    await leader.wait_for_selector("#hearing[data-recording=off]", timeout=60_000)
    # The room tells the sites before the stop's answer has written the row: wait for it.
    for _ in range(100):
        second_done = await api.get(f"/api/v1/recordings/{second['id']}")
        if second_done["status"] != "recording":
            break
        await asyncio.sleep(0.1)
    assert second_done["status"] == "finished" and second_done["sha256"] != recording["sha256"]

    # A user outside the hearing's scope (a district under Bắc Giang, not invited): 404.
    admin = HubApi(hub.url, aiohttp.ClientSession())
    try:
        await admin.login("admin")
        await admin.call(
            "POST",
            "/api/v1/users",
            {
                "username": "staff.lucngan",
                "display_name": "Cán bộ huyện Lục Ngạn",
                "role": "staff",
                "office_id": offices["BG.LUCNGAN"]["id"],
                "password": PASSWORD,
            },
        )
    finally:
        await admin._session.close()
    async with aiohttp.ClientSession() as http:
        outsider = HubApi(hub.url, http)
        await outsider.login("staff.lucngan")
        auth = {"Authorization": f"Bearer {outsider.token}"}
        for url in (
            f"/api/v1/recordings/{recording['id']}",
            recording["file_url"],
            recording["sites"][0]["url"],
            f"/api/v1/hearings/{hearing_id}/recordings",
        ):
            async with http.get(hub.url + url, headers=auth) as response:
                assert response.status == 404, (url, response.status)

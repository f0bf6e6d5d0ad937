"""The plain hearing page in real Chromium: sites joined through the hub see each other live."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pytest

from tests.browser.sites import HubApi, JoinTiming, OpenSite, SitePage, frames_keep_rising

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

# One user per site: the central office hosts (its leader moderates: provinces wait in the
# waiting room until the leader lets them in), two provinces take part.
HOST, PROVINCE_1, PROVINCE_2 = "leader", "leader.hungyen", "staff.bacgiang"
# Joins late; another user of the host office (the demo data has no fourth office's account),
# so the hub lets it in at once and its join-to-first-frame is all media.
LATE = "staff"


async def _live_hearing(api: HubApi, sites: list[SitePage]) -> int:
    """A live hearing hosted by the central office (the API user's) with the sites' offices."""
    host = api.user["office_id"]
    return await api.live_hearing(
        "Phiên tiếp công dân thử nghiệm",
        host_office_id=host,
        site_office_ids=sorted({s.user["office_id"] for s in sites} - {host}),
    )


async def _join_in_turn(
    sites: list[SitePage], hearing_id: int, record: Callable[[JoinTiming], None]
) -> None:
    """Join one site after another, the first (the host's leader) letting in those who wait;
    every site that finds others publishing is timed."""
    present: list[SitePage] = []
    for site in sites:
        await site.join(hearing_id)
        if site.admission == "waiting":
            await sites[0].admit(str(site.participant_id))
            await site.wait_admitted()
        if present:
            ids = [str(p.participant_id) for p in present]
            await site.wait_playing(ids)
            record(await site.join_timing(ids))
        present.append(site)


def _others(site: SitePage, sites: list[SitePage]) -> list[str]:
    return [str(s.participant_id) for s in sites if s is not site]


async def _all_playing(sites: list[SitePage]) -> None:
    for site in sites:
        await site.wait_playing(_others(site, sites))
    stuck = await frames_keep_rising(sites, {s.username: _others(s, sites) for s in sites})
    assert not stuck, f"video froze (frames before, after) by site and participant: {stuck}"


def _assert_console_clean(sites: list[SitePage]) -> None:
    errors = {s.username: s.console_errors for s in sites if s.console_errors}
    assert not errors, f"errors in the browser console: {errors}"


async def test_three_sites_play_each_others_video(
    open_site: OpenSite, api: HubApi, join_timings: Callable[[JoinTiming], None]
) -> None:
    sites = [await open_site(u) for u in (HOST, PROVINCE_1, PROVINCE_2)]
    hearing_id = await _live_hearing(api, sites)

    await _join_in_turn(sites, hearing_id, join_timings)
    await _all_playing(sites)

    for site in sites:
        tiles = await site.remote_tiles()
        shown = {t["participant_id"]: t["label"] for t in tiles}
        expected = {str(s.participant_id): s.office_name for s in sites if s is not site}
        assert shown == expected, f"{site.username} shows {shown}, expected {expected}"
        assert all(t["width"] > 0 for t in tiles), tiles

    # The host switches its microphone off: the others' tiles of the host say so.
    host = sites[0]
    await host.page.click("#btn-mic")
    muted_note = f'.tile--remote[data-participant-id="{host.participant_id}"] .tile__muted'
    for site in sites[1:]:
        await site.page.wait_for_selector(muted_note, state="visible", timeout=5_000)
    assert await host.page.text_content("#btn-mic") == "Bật micrô"
    _assert_console_clean(sites)


# Regression bound for one late join (the goal, 1 s, is reported in the summary, not asserted).
LATE_JOIN_BOUND_MS = 3000


async def test_late_joiner_plays_every_remote_site(
    open_site: OpenSite, api: HubApi, join_timings: Callable[[JoinTiming], None]
) -> None:
    sites = [await open_site(u) for u in (HOST, PROVINCE_1, PROVINCE_2)]
    hearing_id = await _live_hearing(api, sites)
    await _join_in_turn(sites, hearing_id, join_timings)
    await _all_playing(sites)

    # Three late joins, one after another (a fresh browser context each). The timings are
    # measurements, reported in the run's summary (goal: within 1 s; the house rule is that
    # performance is measured, not asserted): on this 2-core rig five Chromiums and the hub
    # share the CPU and one join's steps swing by hundreds of ms. What is asserted is the
    # behaviour: every late joiner plays every remote site, well inside a bound that catches
    # regressions such as a lost keyframe request or a stalled renegotiation (seconds).
    earlier = [str(s.participant_id) for s in sites]
    for attempt in range(3):
        late = await open_site(LATE)
        await late.join(hearing_id)
        assert late.admission == "admitted", "the host office's staff should not wait"
        await late.wait_playing(earlier)
        timing = await late.join_timing(earlier)
        join_timings(timing)
        assert timing.from_join_ms < LATE_JOIN_BOUND_MS, f"late join {attempt + 1}: {timing}"
        if attempt < 2:
            await late.leave()
            await late.close()
    everyone = [*sites, late]
    await _all_playing(everyone)
    _assert_console_clean(everyone)


async def test_sites_see_a_leaving_site_go(open_site: OpenSite, api: HubApi) -> None:
    sites = [await open_site(u) for u in (HOST, PROVINCE_1, PROVINCE_2)]
    host, stays, leaves = sites
    hearing_id = await _live_hearing(api, sites)
    await _join_in_turn(sites, hearing_id, lambda _timing: None)
    await _all_playing(sites)

    # Leaving with the button ("Rời phiên"): its tile goes; the office, invited, is shown as
    # not connected, last seen just now.
    await leaves.leave()
    for site in (host, stays):
        await site.wait_tile_gone(str(leaves.participant_id))
        absent = await site.office_tile(leaves.user["office_id"], "absent")
        assert absent["note"].startswith("Chưa kết nối · lần cuối lúc "), absent
        assert absent["participant_id"] is None and absent["has_stream"] is False
    assert await leaves.remote_tiles() == []
    await _all_playing([host, stays])

    # Dropping out (the browser closes): the hub notices the lost connection; the others keep
    # its tile, marked with the time, its picture gone (never a frozen frame).
    dropped_id = str(stays.participant_id)
    await stays.close()
    dropped = await host.office_tile(stays.user["office_id"], "dropped")
    assert dropped["participant_id"] == dropped_id
    assert dropped["label"] == stays.office_name
    assert dropped["note"].startswith("Mất kết nối lúc "), dropped
    assert dropped["has_stream"] is False and dropped["video_shown"] is False
    links = {t["office_id"]: t["link"] for t in await host.remote_tiles()}
    assert links == {
        str(stays.user["office_id"]): "dropped",
        str(leaves.user["office_id"]): "absent",
    }

    # The same office joins again: a live tile replaces the marked one (its admission is kept).
    back = await open_site(PROVINCE_1)
    await back.join(hearing_id)
    assert back.admission == "admitted", "a rejoin after a drop keeps the admission"
    await host.wait_playing([str(back.participant_id)])
    links = {t["office_id"]: t["link"] for t in await host.remote_tiles()}
    assert links[str(stays.user["office_id"])] == "connected"
    assert len(await host.remote_tiles()) == 2
    _assert_console_clean([host, leaves, back])


async def test_invited_sites_not_connected_show_as_their_own_tiles(
    open_site: OpenSite, api: HubApi
) -> None:
    sites = [await open_site(u) for u in (HOST, PROVINCE_1, PROVINCE_2)]
    host, joins, later = sites
    hearing_id = await _live_hearing(api, sites)
    # Bắc Giang's browser came and went before the chair arrived: the hub saw it last then.
    await later.join(hearing_id)
    await later.close()
    await host.join(hearing_id)

    # Alone in the hearing: each invited office has a tile saying it is not connected, with
    # when it was last seen where the hub knows (the chair, a leader, watches the sites).
    tile = await host.office_tile(joins.user["office_id"], "absent")
    assert tile["label"] == joins.office_name and tile["note"] == "Chưa kết nối", tile
    assert tile["participant_id"] is None
    gone = await host.office_tile(later.user["office_id"], "absent")
    assert gone["label"] == later.office_name, gone
    assert re.fullmatch(r"Chưa kết nối · lần cuối lúc \d\d:\d\d", gone["note"]), gone
    assert await host.page.is_visible("#tiles-empty")

    # One joins: its placeholder gives way to its own tile; the other's stays.
    await joins.join(hearing_id)
    await host.admit(str(joins.participant_id))
    await host.wait_playing([str(joins.participant_id)])
    by_office = {t["office_id"]: t for t in await host.remote_tiles()}
    assert by_office[str(joins.user["office_id"])]["link"] == "connected"
    assert by_office[str(joins.user["office_id"])]["participant_id"] == joins.participant_id
    assert by_office[str(later.user["office_id"])]["link"] == "absent"
    assert len(by_office) == 2 and not await host.page.is_visible("#tiles-empty")
    # The site that joined sees the one still missing the same way (the host is in).
    await joins.office_tile(later.user["office_id"], "absent")
    _assert_console_clean([host, joins])


async def test_join_page_is_in_vietnamese_and_console_clean(
    open_site: OpenSite, api: HubApi
) -> None:
    site = await open_site(PROVINCE_1)
    hearing_id = await _live_hearing(api, [site])
    await site.join(hearing_id)

    # Nobody has let this province in yet: the page says so.
    assert site.admission == "waiting"
    assert "chờ" in str(await site.page.text_content("#hearing-status"))
    assert await site.page.get_attribute("html", "lang") == "vi"
    assert await site.page.text_content("h1") == "Phiên tiếp công dân thử nghiệm"
    assert await site.page.text_content("#local-tile .tile__office") == site.office_name
    assert await site.page.text_content("#btn-leave") == "Rời phiên"
    # Alone in the room: a clear note rather than an empty grid.
    assert await site.page.is_visible("#tiles-empty")
    _assert_console_clean([site])


async def test_the_chair_switches_a_site_to_low_bandwidth_from_its_tile(
    open_site: OpenSite, api: HubApi
) -> None:
    """The chair's tile switch puts a province in low-bandwidth mode: both pages show the
    "Băng thông thấp" badge (the province on its own tile), the province's picture of the chair
    stops (nobody is spotlit: sound only), and the switch brings the video back."""
    sites = [await open_site(u) for u in (HOST, PROVINCE_1)]
    host, province = sites
    hearing_id = await _live_hearing(api, sites)
    await _join_in_turn(sites, hearing_id, lambda _timing: None)
    await _all_playing(sites)

    tile = f'.tile--remote[data-participant-id="{province.participant_id}"]'
    switch = host.page.locator(f"{tile} .tile__bandwidth")
    assert await switch.text_content() == "Bật băng thông thấp"
    await switch.click()
    await host.page.wait_for_selector(f'{tile}[data-low-bandwidth="true"] .tile__low-bandwidth')
    badge = host.page.locator(f"{tile} .tile__low-bandwidth")
    assert await badge.is_visible() and await badge.text_content() == "Băng thông thấp"
    await province.page.wait_for_selector(
        '#local-tile[data-low-bandwidth="true"] .tile__low-bandwidth', state="visible"
    )
    assert await switch.text_content() == "Trở lại đủ hình"
    await asyncio.sleep(1.5)  # the hub's next offer takes the chair's video off
    chair = str(host.participant_id)
    before = (await province.frame_counts()).get(chair, 0)
    await asyncio.sleep(2.0)
    after = (await province.frame_counts()).get(chair, 0)
    assert after == before, f"the chair's video still plays at the province: {before} -> {after}"

    await switch.click()
    await province.page.wait_for_selector(
        '#local-tile[data-low-bandwidth="false"] .tile__low-bandwidth', state="hidden"
    )
    await province.wait_playing([chair])
    await _all_playing(sites)
    assert not await badge.is_visible()
    events = [
        (e["detail"].get("event"), e["detail"].get("reason"))
        for e in await api.log(hearing_id)
        if e["kind"] == "connectivity"
    ]
    assert ("low_bandwidth_on", "moderator") in events, events
    assert ("low_bandwidth_off", "moderator") in events, events
    _assert_console_clean(sites)


async def test_a_vp8_site_and_an_h264_site_see_each_other(open_site: OpenSite, api: HubApi) -> None:
    """The hub forwards each site's video in the codec the site sends: one site sends VP8
    (Chromium's own first choice), the other asks for H.264 (`?video_codec=h264`, as a device
    with a hardware encoder would), and each decodes the other's."""
    host, other = [await open_site(u) for u in (HOST, PROVINCE_1)]
    hearing_id = await _live_hearing(api, [host, other])
    await host.join(hearing_id)
    await other.join(hearing_id, query="?video_codec=h264")
    if other.admission == "waiting":
        await host.admit(str(other.participant_id))
        await other.wait_admitted()
    await _all_playing([host, other])
    host_codecs, other_codecs = await host.video_codecs(), await other.video_codecs()
    assert host_codecs == {"sent": ["video/vp8"], "decoded": ["video/h264"]}, host_codecs
    assert other_codecs == {"sent": ["video/h264"], "decoded": ["video/vp8"]}, other_codecs
    _assert_console_clean([host, other])

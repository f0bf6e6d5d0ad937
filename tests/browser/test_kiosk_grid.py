"""The site kiosk's grid in real Chromium: a site that drops keeps its tile on the others'
room screens, marked with the time and without a picture, until it is back."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from tests.browser.sites import HubApi, OpenSite

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

# The tile of an office on the kiosk's stage, as the room sees it.
_KIOSK_TILE_JS = """(office) => {
  const tile = document.querySelector(`#kiosk-tiles .tile[data-office-id="${office}"]`);
  if (!tile) return null;
  const video = tile.querySelector('video');
  const note = tile.querySelector('.tile__link');
  return {
    link: tile.dataset.link,
    note: note.hidden ? '' : note.textContent,
    has_stream: video.srcObject !== null,
    video_shown: getComputedStyle(video).visibility !== 'hidden',
    width: video.videoWidth,
  };
}"""


async def _kiosk_tile(page: Page, office_id: int, test: str, timeout_ms: float = 20_000) -> None:
    await page.wait_for_function(
        f"(office) => {{ const t = ({_KIOSK_TILE_JS})(office); return t !== null && ({test}); }}",
        arg=office_id,
        timeout=timeout_ms,
    )


async def test_a_dropped_site_stays_marked_on_the_kiosks(open_site: OpenSite, api: HubApi) -> None:
    offices = await api.offices_by_code()
    tw, hy, bg = (offices[code]["id"] for code in ("TW", "HY", "BG"))
    hearing_id = await api.live_hearing(
        "Phiên thử màn hình điểm cầu", host_office_id=tw, site_office_ids=[hy, bg]
    )
    chair = await open_site("leader")
    await chair.join(hearing_id)
    kiosks = {hy: await open_site("staff.hungyen"), bg: await open_site("staff.bacgiang")}
    for kiosk in kiosks.values():
        await kiosk.page.goto("/site")
    # The kiosks join by themselves and wait; the chair lets them in from their tiles.
    for office in (hy, bg):
        tile = f'.tile--remote[data-office-id="{office}"][data-state="waiting"]'
        await chair.page.click(f"{tile} .tile__admit", timeout=20_000)
    for office, kiosk in kiosks.items():
        other = bg if office == hy else hy
        await _kiosk_tile(kiosk.page, other, "t.width > 0 && t.link === 'connected'")

    # Bắc Giang's PC goes (its browser closes): Hưng Yên's room screen keeps its tile, marked
    # with the time, its picture cleared; so does the chair's grid.
    await kiosks[bg].close()
    await _kiosk_tile(kiosks[hy].page, bg, "t.link === 'dropped'", timeout_ms=10_000)
    shown = await kiosks[hy].page.evaluate(_KIOSK_TILE_JS, bg)
    assert shown["note"].startswith("Mất kết nối lúc "), shown
    assert shown["has_stream"] is False and shown["video_shown"] is False
    dropped = await chair.office_tile(bg, "dropped")
    assert dropped["has_stream"] is False

    # The PC is back: its kiosk rejoins (admission kept) and a live tile replaces the mark.
    back = await open_site("staff.bacgiang")
    await back.page.goto("/site")
    await _kiosk_tile(kiosks[hy].page, bg, "t.width > 0 && t.link === 'connected'")
    count = (
        "(office) => document.querySelectorAll("
        "`#kiosk-tiles .tile[data-office-id='${office}']`).length"
    )
    assert await kiosks[hy].page.evaluate(count, bg) == 1
    errors = chair.console_errors + kiosks[hy].console_errors + back.console_errors
    assert not errors, errors


async def test_kiosks_show_a_site_in_low_bandwidth_mode(open_site: OpenSite, api: HubApi) -> None:
    """The chair puts Hưng Yên in low-bandwidth mode from its tile: Hưng Yên's kiosk says so
    on its own picture, Bắc Giang's on Hưng Yên's tile; switched back, both badges go."""
    offices = await api.offices_by_code()
    tw, hy, bg = (offices[code]["id"] for code in ("TW", "HY", "BG"))
    hearing_id = await api.live_hearing(
        "Phiên thử băng thông thấp", host_office_id=tw, site_office_ids=[hy, bg]
    )
    chair = await open_site("leader")
    await chair.join(hearing_id)
    kiosks = {hy: await open_site("staff.hungyen"), bg: await open_site("staff.bacgiang")}
    for kiosk in kiosks.values():
        await kiosk.page.goto("/site")
    for office in (hy, bg):
        tile = f'.tile--remote[data-office-id="{office}"][data-state="waiting"]'
        await chair.page.click(f"{tile} .tile__admit", timeout=20_000)
    await _kiosk_tile(kiosks[bg].page, hy, "t.width > 0 && t.link === 'connected'")

    switch = f'.tile--remote[data-office-id="{hy}"] .tile__bandwidth'
    await chair.page.click(switch)
    own = '#kiosk-self[data-low-bandwidth="true"] .tile__low-bandwidth'
    await kiosks[hy].page.wait_for_selector(own, state="visible", timeout=10_000)
    other = f'#kiosk-tiles .tile[data-office-id="{hy}"][data-low-bandwidth="true"]'
    await kiosks[bg].page.wait_for_selector(f"{other} .tile__low-bandwidth", state="visible")
    assert await kiosks[bg].page.text_content(f"{other} .tile__low-bandwidth") == "Băng thông thấp"

    await chair.page.click(switch)
    await kiosks[hy].page.wait_for_selector(
        '#kiosk-self[data-low-bandwidth="false"] .tile__low-bandwidth', state="hidden"
    )
    await kiosks[bg].page.wait_for_selector(
        f'#kiosk-tiles .tile[data-office-id="{hy}"][data-low-bandwidth="false"]'
    )
    # Hưng Yên gets the others' pictures again.
    await _kiosk_tile(kiosks[hy].page, bg, "t.width > 0 && t.link === 'connected'")
    errors = chair.console_errors + kiosks[hy].console_errors + kiosks[bg].console_errors
    assert not errors, errors

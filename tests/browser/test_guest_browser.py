"""A guest of the inter-agency working group in real Chromium: the host's staff invite a
provincial police officer on the hearing's page and print the card; the officer opens the
personal link in a browser without an account, waits, is admitted by the chair, is seen by name
and agency on the other sites' tiles, gets 404 for every record URL of the route table, and the
link stops working when the hearing ends."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page

from hub.app import create_app
from hub.config import Settings
from tests.browser.sites import CAMERA_CAP, VN, HubApi, OpenSite, SitePage
from tests.fixtures_hub import HubServer
from tests.guest_gate_routes import gated_requests

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

NAME, POSITION = "Trần Văn Bình", "Phó Trưởng phòng Cảnh sát quản lý hành chính"
AGENCY = "Công an tỉnh Hưng Yên"

# Reads a guest's tile on another site's page.
_GUEST_TILE_JS = """() => [...document.querySelectorAll('.tile--remote[data-guest="true"]')]
  .map((tile) => ({
    participant_id: tile.dataset.participantId,
    state: tile.dataset.state,
    office: tile.querySelector('.tile__office').textContent,
    note: tile.querySelector('.tile__note').textContent,
    badge: !tile.querySelector('.tile__guest').hidden,
  }))"""

# The guest's tile on a bridge point's kiosk (the room's screen).
_KIOSK_GUEST_JS = """() => [...document.querySelectorAll('#kiosk-tiles .tile[data-guest="true"]')]
  .filter((tile) => !tile.hidden)
  .map((tile) => ({
    office: tile.querySelector('.tile__office').textContent,
    note: tile.querySelector('.tile__note').textContent,
    badge: !tile.querySelector('.tile__guest').hidden,
    width: tile.querySelector('video').videoWidth,
  }))"""

# From inside a page: open the hub's socket with a token, and say how the hub answered.
_CONNECT_JS = """async (token) => {
  const { io } = await import('/static/vendor/socket.io.esm.min.js');
  return await new Promise((resolve) => {
    const socket = io({ auth: { token }, transports: ['websocket'], reconnection: false });
    socket.on('connect', () => { socket.disconnect(); resolve('connected'); });
    socket.on('connect_error', (error) => { socket.disconnect(); resolve(error.message); });
  });
}"""


def _read_qr(png: Path) -> str:
    """What a QR code in a picture says, read by zbar (another implementation than the one
    that drew it)."""
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        reason = "zbarimg is missing (`make test` installs zbar-tools as root)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    done = subprocess.run(
        [zbarimg, "--quiet", "--raw", str(png)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, f"no QR code read from {png}: {done.stderr}"
    return done.stdout.strip()


def _route_table(tmp_path: Path) -> Any:
    """The hub's route table as create_app builds it (nothing started: no media, no sockets)."""
    app = create_app(Settings(data_dir=tmp_path / "routes", media_workers=0))
    return app.router


async def _invite_on_the_staff_page(
    staff: SitePage, hearing_id: int, tmp_path: Path
) -> tuple[str, Page]:
    """The host office's staff member invites the guest on the hearing's page, opens its card
    and issues the link: the link as printed, and the card's page."""
    page = staff.page
    await page.goto(f"/staff/hearings/{hearing_id}")
    form = page.locator("#hd-guest-form")
    await form.locator("input[name=name]").fill(NAME)
    await form.locator("input[name=position]").fill(POSITION)
    await form.locator("select[name=agency_kind]").select_option("police")
    await form.locator("input[name=agency]").fill(AGENCY)
    await form.locator("button[type=submit]").click()
    item = page.locator(".guest-list__item", has_text=NAME)
    await item.wait_for(timeout=10_000)
    assert await item.get_attribute("data-link-state") == "none"
    await item.locator("[data-action=guest-card]").click()
    await page.wait_for_url("**/card")
    assert NAME in await page.text_content("#guest-card")
    assert AGENCY in await page.text_content("#guest-card")
    await page.click("#card-issue")
    await page.wait_for_selector("#card-qr-box:not([hidden])", timeout=10_000)
    url = (await page.text_content("#card-url") or "").strip()
    # The QR code is an SVG image the card shows (the page's CSP allows data: images).
    qr_width = await page.eval_on_selector("#card-qr", "(img) => img.naturalWidth")
    assert qr_width > 0, "the QR code did not load"
    # The code on the card, as a phone's camera would read it, is the link.
    await page.locator("#card-qr").screenshot(path=str(tmp_path / "card-qr.png"))
    assert _read_qr(tmp_path / "card-qr.png") == url
    assert await page.get_attribute("#guest-card", "data-link-state") == "active"
    return url, page


async def _guest_browser(chromium: Browser, base_url: str) -> tuple[Any, Page, list[str]]:
    """A browser of its own, signed in as nobody, with the fake camera."""
    context = await chromium.new_context(base_url=base_url)
    await context.add_init_script(CAMERA_CAP)
    page = await context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, errors


async def _guest_tile(site: SitePage, state: str) -> dict[str, Any]:
    """The guest's tile on another site's page, once it is in `state`."""
    await site.page.wait_for_selector(
        f'.tile--remote[data-guest="true"][data-state="{state}"]', timeout=15_000
    )
    (tile,) = await site.page.evaluate(_GUEST_TILE_JS)
    return dict(tile)


async def test_a_police_guest_joins_by_link_waits_is_admitted_and_sees_no_record(
    hub: HubServer,
    chromium: Browser,
    open_site: OpenSite,
    api: HubApi,
    tmp_path: Path,
) -> None:
    chair = await open_site("leader")
    province = await open_site("staff.hungyen")  # Hưng Yên's bridge point: its kiosk
    staff = await open_site("staff")
    offices = await api.offices_by_code()
    starts = datetime.now(VN).replace(microsecond=0)
    hearing = await api.call(
        "POST",
        "/api/v1/hearings",
        {
            "title": "Tiếp công dân đột xuất: đoàn đông người huyện Văn Lâm",
            "kind": "adhoc",
            "host_office_id": api.user["office_id"],
            "site_office_ids": [offices["HY"]["id"]],
            "chair_user_id": chair.user["id"],
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
        },
    )
    hearing_id = int(hearing["id"])
    link, card = await _invite_on_the_staff_page(staff, hearing_id, tmp_path)
    assert link.startswith(f"{hub.url}/guest/g.")
    await card.screenshot(path=str(tmp_path / "guest-card.png"), full_page=True)
    (guest,) = (await api.get(f"/api/v1/hearings/{hearing_id}/guests"))["items"]
    assert guest["link_state"] == "active" and guest["agency_kind"] == "police"

    await api.call("POST", f"/api/v1/hearings/{hearing_id}/start")
    await chair.join(hearing_id)
    assert chair.admission == "admitted"
    # Hưng Yên's kiosk joins by itself and waits; the chair lets it in from its tile.
    await province.page.goto("/site")
    hy_tile = f'.tile--remote[data-office-id="{offices["HY"]["id"]}"]'
    await chair.page.click(f'{hy_tile}[data-state="waiting"] .tile__admit', timeout=20_000)
    await chair.page.wait_for_selector(f'{hy_tile}[data-state="admitted"]', timeout=10_000)

    # The officer opens the link from the card: no account, the hearing's page as a guest.
    context, page, guest_errors = await _guest_browser(chromium, hub.url)
    try:
        await page.goto(link)
        await page.wait_for_selector("#hearing[data-state=joined]", timeout=20_000)
        assert await page.get_attribute("#hearing", "data-admission") == "waiting"
        assert NAME in (await page.text_content("#guest-note") or "")
        assert await page.is_hidden("#petition-panel")
        await page.screenshot(path=str(tmp_path / "guest-waiting.png"))
        cookies = {c["name"]: c for c in await context.cookies()}
        assert cookies["tcd_guest"]["httpOnly"] and "tcd_session" not in cookies

        # The chair sees a person waiting, named with the agency, and lets the officer in.
        waiting = await _guest_tile(chair, "waiting")
        assert (waiting["office"], waiting["note"], waiting["badge"]) == (AGENCY, NAME, True)
        listed = await chair.page.text_content("#waiting-list")
        assert NAME in (listed or "") and AGENCY in (listed or "")
        await chair.admit(waiting["participant_id"])
        await page.wait_for_selector("#hearing[data-admission=admitted]", timeout=10_000)

        # Seen by name and agency on the other sites' tiles (the chair's page, Hưng Yên's
        # room screen), with its picture; the guest sees both of them.
        tile = await _guest_tile(chair, "admitted")
        assert (tile["office"], tile["note"], tile["badge"]) == (AGENCY, NAME, True)
        await chair.wait_playing([waiting["participant_id"]], timeout_ms=20_000)
        await province.page.wait_for_function(
            f"() => ({_KIOSK_GUEST_JS})().some((t) => t.width > 0)", timeout=20_000
        )
        (on_kiosk,) = await province.page.evaluate(_KIOSK_GUEST_JS)
        assert (on_kiosk["office"], on_kiosk["note"], on_kiosk["badge"]) == (AGENCY, NAME, True)
        await page.wait_for_function(
            """() => [...document.querySelectorAll('.tile--remote')]
                .filter((tile) => tile.querySelector('video').videoWidth > 0).length >= 2""",
            timeout=20_000,
        )
        await page.screenshot(path=str(tmp_path / "guest-admitted.png"))
        await chair.page.screenshot(path=str(tmp_path / "chair-with-guest.png"))
        await province.page.screenshot(path=str(tmp_path / "kiosk-with-guest.png"))
        log = await api.log(hearing_id)
        named = {e["kind"] for e in log if e["detail"].get("guest_name") == NAME}
        assert {"guest_invited", "participant_joined", "participant_admitted"} <= named
        assert not guest_errors, guest_errors

        # Every record URL of the route table is a 404 for the guest's browser.
        petition = await api.call(
            "POST",
            "/api/v1/petitions",
            {
                "type": "complaint",
                "office_id": offices["HY"]["id"],
                "petitioner_name": "Nguyễn Thị Hoa",
                "content": "Khiếu nại việc thu hồi đất nông nghiệp.",
                "source": "in_person",
                "received_on": starts.date().isoformat(),
            },
        )
        ids = {
            "hearing": hearing_id,
            "petition": int(petition["id"]),
            "office": offices["HY"]["id"],
            "alert": 1,
            "guest": int(guest["id"]),
        }
        requests = gated_requests(_route_table(tmp_path), ids)
        assert len(requests) >= 60
        opened = []
        for method, path in requests:
            response = await context.request.fetch(path, method=method, max_redirects=0)
            body = await response.text()
            if response.status != 404 or "Nguyễn Thị Hoa" in body:
                opened.append((method, path, response.status))
        assert opened == [], opened
        # The page's own scripts fare no better (the same cookie, from the page).
        statuses = await page.evaluate(
            """async (paths) => Promise.all(paths.map(
                async (path) => (await fetch(path)).status))""",
            [p for m, p in requests if m == "GET"],
        )
        assert set(statuses) == {404}, statuses

        # The hearing ends: the guest is out, its link gives the "expired" page, and the
        # hub refuses the link's socket.
        await api.call("POST", f"/api/v1/hearings/{hearing_id}/end")
        await page.wait_for_selector("#hearing[data-state=left]", timeout=15_000)
        response = await page.goto(link)
        assert response is not None and response.status == 410
        assert await page.get_attribute("#guest-closed", "data-reason") == "expired"
        await page.screenshot(path=str(tmp_path / "guest-expired.png"))
        assert "tcd_guest" not in {c["name"] for c in await context.cookies()}
        token = link.rsplit("/", 1)[1]
        refusal = await page.evaluate(_CONNECT_JS, token)
        assert "expired" in refusal, refusal
    finally:
        await context.close()
    await asyncio.sleep(0)  # let the closed context's tasks settle before the fixtures close

"""The live hearing journey in real Chromium: staff schedules a hearing with two sites and a
petition; two site kiosks (/site) wait for it; the leader starts it from the join page, admits
both kiosks from the waiting room, marks the petition heard, mutes a site and ends the hearing;
the session log, the petition page and the operator board show it all."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, BrowserContext, Dialog, Page, expect

# The browser tests' fixtures: Chromium with a fake camera and microphone, and the hub served by
# `tcd-hub serve` in a process of its own (media needs both).
from tests.browser.conftest import chromium, hub  # noqa: F401
from tests.browser.sites import CAMERA_CAP
from tests.fixtures_hub import HubServer
from tests.ui.browser import ConsoleWatch, HubApi, new_context, sign_in_api, vn_now

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

TITLE = "Phiên tiếp công dân định kỳ có hai điểm cầu"
KIOSKS = {"HY": "staff.hungyen", "BG": "staff.bacgiang"}

# True once a kiosk plays a remote site's video whose office name contains the argument.
_KIOSK_PLAYS_JS = """(office) => [...document.querySelectorAll('#kiosk-tiles .tile--remote')]
  .some((tile) => tile.dataset.officeName.includes(office)
    && tile.querySelector('video').videoWidth > 0)"""


@pytest.fixture
async def staff(hub: HubServer) -> AsyncIterator[HubApi]:  # noqa: F811
    async with aiohttp.ClientSession() as session:
        client = HubApi(hub.url, session)
        await client.login("staff")
        yield client


async def _open(
    browser: Browser, server: HubServer, watch: ConsoleWatch, username: str, *, camera: bool
) -> tuple[BrowserContext, Page]:
    context = await new_context(browser, server.url)
    if camera:
        await context.add_init_script(CAMERA_CAP)
    await sign_in_api(context, username)
    return context, watch.watch(await context.new_page())


async def _schedule(staff: HubApi, offices: dict[str, int]) -> tuple[int, dict[str, Any]]:
    """A hearing hosted by the central office with Hưng Yên and Bắc Giang, a petition linked."""
    starts = (vn_now() + timedelta(minutes=5)).replace(microsecond=0)
    hearing = await staff.call(
        "POST",
        "/api/v1/hearings",
        {
            "title": TITLE,
            "kind": "adhoc",
            "host_office_id": offices["TW"],
            "site_office_ids": [offices["HY"], offices["BG"]],
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
        },
    )
    petition = await staff.call(
        "POST",
        "/api/v1/petitions",
        {
            "type": "complaint",
            "office_id": offices["TW"],
            "petitioner_name": "Nguyễn Văn Bình",
            "content": "Khiếu nại về việc bồi thường khi thu hồi đất.",
            "subject_field": "Đất đai",
            "received_on": vn_now().date().isoformat(),
        },
    )
    hearing_id = int(hearing["id"])
    await staff.call("POST", f"/api/v1/hearings/{hearing_id}/petitions/{petition['id']}")
    return hearing_id, petition


async def test_leader_runs_a_hearing_with_two_kiosks(
    chromium: Browser,  # noqa: F811
    hub: HubServer,  # noqa: F811
    staff: HubApi,
) -> None:
    watch = ConsoleWatch()
    offices = await staff.office_ids()
    names = {o["code"]: o["name"] for o in (await staff.call("GET", "/api/v1/offices"))["items"]}
    hearing_id, petition = await _schedule(staff, offices)
    case_code = petition["case_code"]

    # Two kiosks wait for the hearing; the operator watches the board.
    kiosks: dict[str, Page] = {}
    for code, username in KIOSKS.items():
        _, kiosks[code] = await _open(chromium, hub, watch, username, camera=True)
        await kiosks[code].goto("/site")
    for kiosk in kiosks.values():
        await expect(kiosk.locator("#kiosk")).to_have_attribute("data-phase", "waiting-start")
        await expect(kiosk.locator("#kiosk-status")).to_have_text("Đang chờ phiên bắt đầu")
        await expect(kiosk.locator("#kiosk-hearing")).to_contain_text(TITLE)
    _, board = await _open(chromium, hub, watch, "operator", camera=False)
    await board.goto("/operator")

    # The leader joins the hearing page and starts the hearing.
    _, leader = await _open(chromium, hub, watch, "leader", camera=True)
    await leader.goto(f"/hearings/{hearing_id}/join")
    await expect(leader.locator("#hearing")).to_have_attribute("data-state", "joined")
    await expect(leader.locator("#host-controls")).to_be_visible()
    await expect(leader.locator("#petition-list li")).to_have_count(1)
    await leader.get_by_role("button", name="Bắt đầu phiên").click()
    await expect(leader.locator("#hearing")).to_have_attribute("data-hearing-status", "live")

    # The kiosks notice, join by themselves and wait in the waiting room.
    for kiosk in kiosks.values():
        await expect(kiosk.locator("#kiosk")).to_have_attribute(
            "data-phase", "waiting-room", timeout=20_000
        )
        await expect(kiosk.locator("#kiosk-status")).to_have_text("Đang chờ chủ trì cho vào phiên")

    # The leader admits both from the waiting list; both kiosks then play the leader's video.
    waiting = leader.locator("#waiting-list")
    await expect(waiting.locator("li")).to_have_count(2, timeout=15_000)
    for code in KIOSKS:
        await waiting.get_by_role("button", name=f"Cho vào phiên: {names[code]}").click()
    await expect(waiting.locator("li")).to_have_count(0)
    for kiosk in kiosks.values():
        await expect(kiosk.locator("#kiosk")).to_have_attribute("data-phase", "in-hearing")
        await kiosk.wait_for_function(_KIOSK_PLAYS_JS, arg=names["TW"], timeout=20_000)

    # The operator board shows both kiosks online and in the hearing (not waiting).
    for code in KIOSKS:
        row = board.locator(f'tr[data-office-id="{offices[code]}"]')
        await expect(row).to_have_attribute("data-online", "true", timeout=15_000)
        # The board names hearings it loaded with the page by title, later ones by number.
        await expect(row.locator(f'a[href="/staff/hearings/{hearing_id}"]')).to_be_visible()
        await expect(row).not_to_contain_text("phòng chờ")

    # The petition is heard: start, then stop; marked for the leader.
    item = leader.locator(f'#petition-list li[data-petition-id="{petition["id"]}"]')
    await item.get_by_role("button", name=f"Đang nghe: {case_code}").click()
    await expect(item).to_have_attribute("data-current", "true")
    await item.get_by_role("button", name=f"Kết thúc nghe: {case_code}").click()
    await expect(item).to_have_attribute("data-current", "false")
    await expect(item).to_contain_text("Đã nghe")

    # Spotlight Bắc Giang: Hưng Yên's kiosk shows it large.
    bg_tile = leader.locator(f'.tile--remote[data-office-name="{names["BG"]}"]')
    await bg_tile.get_by_role("button", name=f"Tiêu điểm: {names['BG']}").click()
    await expect(
        kiosks["HY"].locator(f'#kiosk-tiles .tile--spotlight[data-office-name="{names["BG"]}"]')
    ).to_have_count(1)

    # The leader mutes Hưng Yên: its kiosk says so, the leader's tile shows the badge.
    hy_tile = leader.locator(f'.tile--remote[data-office-name="{names["HY"]}"]')
    await hy_tile.get_by_role("button", name=f"Tắt tiếng điểm cầu: {names['HY']}").click()
    await expect(kiosks["HY"].locator("#kiosk-muted")).to_be_visible()
    await expect(kiosks["HY"].locator("#kiosk-muted")).to_have_text(
        "Chủ trì đã tắt tiếng điểm cầu này"
    )
    await expect(hy_tile.locator(".tile__host-muted")).to_be_visible()
    await expect(kiosks["BG"].locator("#kiosk-muted")).to_be_hidden()

    # The leader ends the hearing (after confirming); the kiosks wait for the next one.
    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    leader.on("dialog", lambda dialog: asyncio.ensure_future(accept(dialog)))
    await leader.get_by_role("button", name="Kết thúc phiên").click()
    await expect(leader.locator("#hearing")).to_have_attribute("data-state", "left")
    for kiosk in kiosks.values():
        await expect(kiosk.locator("#kiosk")).to_have_attribute("data-phase", "waiting-start")
        await expect(kiosk.locator("#kiosk-muted")).to_be_hidden()

    # The session log has it all.
    log = (await staff.call("GET", f"/api/v1/hearings/{hearing_id}/log"))["items"]
    kinds = [event["kind"] for event in log]
    for kind in ("started", "participant_joined", "petition_heard", "participant_muted", "ended"):
        assert kind in kinds, (kind, kinds)
    admitted = {e["office_id"] for e in log if e["kind"] == "participant_admitted"}
    assert admitted == {offices["HY"], offices["BG"]}, log
    muted = [e for e in log if e["kind"] == "participant_muted"]
    assert [e["office_id"] for e in muted] == [offices["HY"]], muted

    # The petition's page lists the hearing with the times it was heard.
    _, desk = await _open(chromium, hub, watch, "staff", camera=False)
    await desk.goto(f"/staff/petitions/{petition['id']}")
    row = desk.locator(f'#pd-hearings tr[data-hearing-id="{hearing_id}"]')
    await expect(row).to_contain_text(TITLE)
    await expect(row.locator("td").nth(3)).to_have_text(re.compile(r"^\d\d:\d\d–\d\d:\d\d$"))

    assert watch.take() == []

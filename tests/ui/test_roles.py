"""Each role's pages in Chromium: where "/" leads, which links the header offers, the leader's
start page with join and start/end, the operator board, error pages, and the language switch."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Page, expect

from tests.fixtures_hub import HubServer
from tests.ui.browser import (
    ConsoleWatch,
    HubApi,
    OpenContext,
    open_page,
    ready,
    vn_now,
)

pytestmark = pytest.mark.browser

# username -> (start page after "/", the header's links)
_PETITIONS = ["/staff/petitions", "/staff/delegations", "/reports"]
ROLES = {
    "leader": ("/leader", ["/leader", "/staff", "/staff/calendar", *_PETITIONS, "/schedule"]),
    "staff": ("/staff", ["/leader", "/staff", "/staff/calendar", *_PETITIONS, "/schedule"]),
    "operator": ("/operator", ["/staff/calendar", "/operator", "/schedule"]),
    "admin": (
        "/staff",
        ["/leader", "/staff", "/staff/calendar", *_PETITIONS, "/operator", "/schedule"],
    ),
}


async def _nav_links(page: Page) -> list[str]:
    links = page.get_by_role("navigation", name="Điều hướng chính").get_by_role("link")
    return [str(await link.get_attribute("href")) for link in await links.all()]


async def _hearing_today(api: HubApi, host: str, sites: list[str], title: str) -> dict[str, Any]:
    offices = await api.office_ids()
    start = vn_now().replace(second=0, microsecond=0)
    created: dict[str, Any] = await api.call(
        "POST",
        "/api/v1/hearings",
        {
            "title": title,
            "kind": "adhoc",
            "host_office_id": offices[host],
            "site_office_ids": [offices[s] for s in sites],
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
        },
    )
    return created


async def test_each_role_lands_on_its_start_page_with_its_links(open_context: OpenContext) -> None:
    watch = ConsoleWatch()
    for username, (start, links) in ROLES.items():
        context = await open_context(username)
        page = watch.watch(await context.new_page())
        await page.goto("/")
        await expect(page).to_have_url(re.compile(re.escape(start) + "$"))
        await ready(page)
        assert await _nav_links(page) == links, username
        current = page.get_by_role("navigation").locator('[aria-current="page"]')
        await expect(current).to_have_attribute("href", start)
        await expect(page.locator("#topbar-user")).to_contain_text(
            "Trụ sở Tiếp công dân Trung ương (Hà Nội)"
        )
        if username == "operator":
            # Petitions are none of an operator's business: an HTML 403, with the header.
            denied = await page.goto("/staff/petitions")
            assert denied is not None and denied.status == 403
            await expect(page.get_by_role("heading", level=1)).to_have_text(
                "Không có quyền truy cập"
            )
            assert await _nav_links(page) == links
            watch.take()  # Chromium logs the page's own 403 status
        if username == "staff":
            missing = await page.goto("/staff/hearings/999999")
            assert missing is not None and missing.status == 404
            await expect(page.get_by_role("heading", level=1)).to_have_text("Không tìm thấy trang")
            # Signing out ends the session: "/" is the public schedule again.
            await open_page(page, "/staff/calendar")
            await page.get_by_role("button", name="Đăng xuất").click()
            await expect(page).to_have_url(re.compile(r"/login$"))
            await page.goto("/")
            await expect(page).to_have_url(re.compile(r"/schedule$"))
            await page.goto("/staff/petitions?type=complaint")
            await expect(page).to_have_url(re.compile(r"/login\?next="))
            query = parse_qs(urlsplit(page.url).query)
            assert query["next"] == ["/staff/petitions?type=complaint"]
            watch.take()  # Chromium logs the error page's own 404 status
    assert watch.take() == []


async def test_leader_joins_starts_and_ends_todays_hearing(
    open_context: OpenContext, staff_api: HubApi
) -> None:
    ours = await _hearing_today(
        staff_api, "TW", ["HY", "BG"], "Phiên hôm nay do Trung ương chủ trì"
    )
    await staff_api.login("staff.hungyen")
    theirs = await _hearing_today(
        staff_api, "HY", ["HY.VANLAM"], "Phiên hôm nay do Hưng Yên chủ trì"
    )

    watch = ConsoleWatch()
    context = await open_context("leader")
    page = watch.watch(await context.new_page())
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/leader$"))
    await ready(page)

    card = page.locator(f'#ld-today article[data-hearing-id="{ours["id"]}"]')
    await expect(card).to_contain_text("Phiên hôm nay do Trung ương chủ trì")
    await expect(card).to_contain_text("3 điểm cầu")
    join = card.get_by_role("link", name=re.compile("^Tham gia"))
    await expect(join).to_have_attribute("href", f"/hearings/{ours['id']}/join")
    # Hosted by another office: join, but no start or end here.
    other = page.locator(f'#ld-today article[data-hearing-id="{theirs["id"]}"]')
    await expect(other.get_by_role("link", name=re.compile("^Tham gia"))).to_have_count(1)
    await expect(other.get_by_role("button")).to_have_count(0)

    await card.get_by_role("button", name="Bắt đầu phiên").click()
    await expect(card.locator(".badge--live")).to_have_text("Đang diễn ra")
    await card.get_by_role("button", name="Kết thúc phiên").click()
    await expect(card.locator(".badge--ended")).to_have_text("Đã kết thúc")
    await expect(card.get_by_role("link", name=re.compile("^Tham gia"))).to_have_count(0)

    log = await staff_api.call("GET", f"/api/v1/hearings/{ours['id']}/log")
    kinds = [event["kind"] for event in log["items"]]
    assert kinds[-2:] == ["started", "ended"]
    assert watch.take() == []


async def test_operator_board_lists_every_bridge_point_and_applies_site_status(
    open_context: OpenContext, staff_api: HubApi
) -> None:
    live = await _hearing_today(staff_api, "TW", ["HY", "TN"], "Phiên trực tuyến đang diễn ra")
    await staff_api.call("POST", f"/api/v1/hearings/{live['id']}/start")
    offices = await staff_api.call("GET", "/api/v1/offices", bridge_only="true")
    ids = await staff_api.office_ids()

    watch = ConsoleWatch()
    context = await open_context("operator")
    page = watch.watch(await context.new_page())
    await open_page(page, "/operator")

    rows = page.locator("#op-table tbody tr")
    await expect(rows).to_have_count(offices["total"])
    await expect(page.locator('#op-table tr[data-code="BG.LUCNGAN.TANSON"]')).to_have_count(0)
    # No site has connected: no data for them (the signaling server, when mounted, may report
    # the operator's own office as offline, since a board does not make its office online).
    await expect(page.locator('#op-table tr[data-code="BG"]')).to_contain_text("Chưa có dữ liệu")
    await expect(page.locator(f'#op-hearings li[data-hearing-id="{live["id"]}"]')).to_contain_text(
        "Phiên trực tuyến đang diễn ra"
    )
    hy = page.locator('#op-table tr[data-code="HY"]')
    await expect(hy).to_contain_text("Dự kiến: Phiên trực tuyến đang diễn ra")

    # What the signaling server will send as site_status; fed in by hand until it does.
    await page.evaluate(
        "(m) => window.tcdOperator.apply(m)",
        {"office_id": ids["HY"], "online": True, "hearing_id": live["id"]},
    )
    await page.evaluate(
        "(m) => window.tcdOperator.apply(m)",
        {"office_id": ids["TN"], "online": False, "hearing_id": None},
    )
    await expect(hy).to_have_attribute("data-online", "true")
    # Online and in a hearing: its presence says so (the dot stays the online one).
    await expect(hy).to_have_attribute("data-presence", "in_hearing")
    await expect(hy.locator(".conn--online")).to_have_text("Đang dự phiên")
    await expect(hy.get_by_role("link", name="Phiên trực tuyến đang diễn ra")).to_have_count(1)
    # The office's name leads to its link page.
    await expect(hy.locator("a.site-link")).to_have_attribute(
        "href", f"/operator/sites/{ids['HY']}"
    )
    tn = page.locator('#op-table tr[data-code="TN"]')
    await expect(tn.locator(".conn--offline")).to_have_text("Mất kết nối")
    await expect(page.locator("#op-summary")).to_contain_text("(1 trực tuyến, ")
    assert watch.take() == []


async def test_language_switch_to_english_and_back(open_context: OpenContext) -> None:
    watch = ConsoleWatch()
    context = await open_context("staff")
    page = watch.watch(await context.new_page())
    await open_page(page, "/staff/calendar?view=week")
    await expect(page.locator("html")).to_have_attribute("lang", "vi")

    await page.get_by_role("link", name="English").click()
    await expect(page).to_have_url(re.compile(r"/staff/calendar\?view=week$"))
    await ready(page)
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hearing calendar")
    assert await page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link"
    ).all_text_contents() == [
        "Today's hearings",
        "To do",
        "Calendar",
        "Petition register",
        "Crowd delegations",
        "Reports",
        "Public schedule",
    ]
    # Dates stay dd/mm/yyyy in English too.
    await expect(page.locator("#cal-label")).to_have_text(
        re.compile(r"^Week of \d{2}/\d{2}/\d{4} to \d{2}/\d{2}/\d{4}$")
    )
    await open_page(page, "/staff/petitions")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Petition register")
    await expect(page.locator("#pl-table-results thead")).to_contain_text("Case code")
    received = await page.locator("#pl-table-results tbody tr td:nth-child(2)").first.text_content()
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", received or "")
    await open_page(page, "/schedule")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "ONLINE CITIZEN RECEPTION SCHEDULE"
    )

    await page.get_by_role("link", name="Tiếng Việt").click()
    await ready(page)
    await expect(page.locator("html")).to_have_attribute("lang", "vi")
    await expect(page.get_by_role("heading", level=1)).to_have_text("LỊCH TIẾP CÔNG DÂN TRỰC TUYẾN")
    assert watch.take() == []


async def test_operator_board_shows_a_site_coming_online_over_socketio(
    open_context: OpenContext, hub: HubServer, staff_api: HubApi
) -> None:
    import socketio

    if not any(r.canonical.startswith("/socket.io") for r in hub.app.router.resources()):
        pytest.skip("signaling is not mounted in this build")
    watch = ConsoleWatch()
    context = await open_context("operator")
    page = watch.watch(await context.new_page())
    await open_page(page, "/operator")
    await expect(page.locator("#op-live")).to_have_attribute("data-state", "connected")
    hy = page.locator('#op-table tr[data-code="HY"]')
    await expect(hy).to_contain_text("Chưa có dữ liệu")

    # A Hưng Yên staff member's browser (here a Socket.IO client) connects to the hub.
    await staff_api.login("staff.hungyen")
    site = socketio.AsyncClient(reconnection=False)
    await site.connect(hub.url, auth={"token": staff_api.token}, transports=["websocket"])
    try:
        await expect(hy).to_have_attribute("data-online", "true")
        await expect(hy.locator(".conn--online")).to_have_text("Trực tuyến")
    finally:
        await site.disconnect()
    await expect(hy).to_have_attribute("data-online", "false")
    await expect(hy.locator(".conn--offline")).to_have_text("Mất kết nối")
    assert watch.take() == []


async def test_keyboard_alone_signs_in_and_moves_around(open_context: OpenContext) -> None:
    watch = ConsoleWatch()
    context = await open_context()
    page = watch.watch(await context.new_page())
    await page.goto("/login?next=/staff/calendar")
    # The username field has the focus; Tab and Enter do the rest.
    await page.keyboard.type("staff")
    await page.keyboard.press("Tab")
    await page.keyboard.type("demo")
    await page.keyboard.press("Enter")
    # Anchored at the origin: "/login?next=/staff/calendar" also ends in /staff/calendar.
    await expect(page).to_have_url(re.compile(r"^http://[^/?]+/staff/calendar$"))
    await ready(page)

    # The first Tab reaches the skip link, which moves the focus to the content.
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Bỏ qua, đến nội dung chính")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("main")).to_be_focused()

    # From the top, Tab walks the header in order and Enter follows a link.
    register = page.get_by_role("link", name="Sổ đơn thư")
    await open_page(page, "/staff/calendar")
    visited = []
    for _ in range(8):
        await page.keyboard.press("Tab")
        visited.append(await page.evaluate("() => document.activeElement.textContent.trim()"))
        if await register.evaluate("(a) => a === document.activeElement"):
            break
    assert visited[:2] == ["Bỏ qua, đến nội dung chính", "Tiếp công dân trực tuyến"], visited
    await expect(register).to_be_focused()
    outline = await register.evaluate("(a) => getComputedStyle(a).outlineStyle")
    assert outline == "solid"  # a visible focus ring
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"/staff/petitions$"))
    await ready(page)
    assert watch.take() == []

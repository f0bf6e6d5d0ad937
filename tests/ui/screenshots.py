"""`make screenshots`: start a seeded hub, add a live hearing and a few records, sign in as each
role and save a PNG of every page at 1366x768 (a laptop) and 1920x1080 (a room screen).

Run as `.venv/bin/python -m tests.ui.screenshots [--out docs/screenshots]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Browser, async_playwright

from tests.fixtures_hub import start_hub
from tests.ui.browser import (
    CHROMIUM_ARGS,
    CHROMIUM_EXECUTABLE,
    LAPTOP,
    ROOM_SCREEN,
    ConsoleWatch,
    HubApi,
    new_context,
    open_page,
    sign_in_api,
    vn_now,
)

SIZES = (LAPTOP, ROOM_SCREEN)
# Their offices show as online on the operator board.
SITE_USERS = ("staff", "staff.hungyen", "staff.bacgiang")


@dataclass(frozen=True)
class Shot:
    """One page to photograph: who looks at it, where, and the file's name."""

    name: str
    user: str | None
    path: str
    lang: str = "vi"
    # Chromium logs an error status of the page itself in the console: expected for error pages.
    error_page: bool = False
    # Live pages join the hearing over WebRTC: give them time to connect before the picture.
    settle_ms: int = 0


@dataclass(frozen=True)
class Story:
    """The records the screenshots show."""

    live_hearing: int
    periodic_hearing: int
    crowd_petition: int


async def prepare(base_url: str) -> Story:
    """A live hearing today with petitions being heard, a periodic series, a crowd petition."""
    async with aiohttp.ClientSession() as session:
        api = HubApi(base_url, session)
        await api.login("staff")
        offices = await api.office_ids()
        users = {u["username"]: u["id"] for u in (await api.call("GET", "/api/v1/users"))["items"]}
        today = vn_now().date().isoformat()
        crowd = await api.call(
            "POST",
            "/api/v1/petitions",
            {
                "type": "complaint",
                "office_id": offices["TW"],
                "petitioner_name": "Lê Thị Hoa",
                "petitioner_address": "Thôn Tân Lập, xã Tân Lập, huyện Tân Biên, tỉnh Tây Ninh",
                "petitioner_id_number": "072185004321",
                "content": "Khiếu nại việc bồi thường, hỗ trợ khi thu hồi đất làm đường giao thông "
                "liên xã; các hộ dân cho rằng đơn giá bồi thường thấp hơn giá thị trường.",
                "crowd": True,
                "people_count": 14,
                "representatives": ["Lê Thị Hoa", "Nguyễn Văn Bình", "Trần Văn Cảnh"],
                "subject_field": "Đất đai",
                "source": "in_person",
                "received_on": today,
                "respondent": "UBND huyện Tân Biên",
                "request": "Xem xét lại đơn giá bồi thường và hỗ trợ tái định cư",
                "competent_body": "UBND tỉnh Tây Ninh",
            },
        )
        await api.call(
            "PATCH",
            f"/api/v1/petitions/{crowd['id']}",
            {"status": "accepted", "status_note": "Thụ lý theo thẩm quyền"},
        )
        other = await api.call(
            "POST",
            "/api/v1/petitions",
            {
                "type": "recommendation",
                "office_id": offices["TW"],
                "petitioner_name": "Phạm Văn Long",
                "content": "Kiến nghị về tiến độ cấp giấy chứng nhận quyền sử dụng đất.",
                "subject_field": "Đất đai",
                "received_on": today,
                "source": "post",
            },
        )
        start = vn_now().replace(second=0, microsecond=0) - timedelta(minutes=20)
        live = await api.call(
            "POST",
            "/api/v1/hearings",
            {
                "title": "Tiếp công dân đột xuất: vụ việc đông người tại huyện Tân Biên",
                "kind": "adhoc",
                "host_office_id": offices["TW"],
                "site_office_ids": [offices["TN"], offices["TN.TANBIEN"], offices["HY"]],
                "chair_user_id": users["leader"],
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=2)).isoformat(),
                "location": "Trụ sở Tiếp công dân Trung ương, Hà Nội",
            },
        )
        for petition in (crowd, other):
            await api.call("POST", f"/api/v1/hearings/{live['id']}/petitions/{petition['id']}")
        await api.call("POST", f"/api/v1/hearings/{live['id']}/start")
        await api.call(
            "POST",
            f"/api/v1/hearings/{live['id']}/petitions/{crowd['id']}",
            {"heard_from": "now"},
        )
        await api.call(
            "PATCH",
            f"/api/v1/hearings/{live['id']}",
            {
                "minutes": "Thành phần: Lãnh đạo Ban Tiếp công dân Trung ương; đại diện UBND "
                "tỉnh Tây Ninh, UBND huyện Tân Biên.\nNội dung: nghe đại diện các hộ dân trình "
                "bày ý kiến về đơn giá bồi thường."
            },
        )
        first = (vn_now() + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
        periodic = await api.call(
            "POST",
            "/api/v1/hearings",
            {
                "title": "Tiếp công dân định kỳ hằng tuần",
                "kind": "periodic",
                "host_office_id": offices["TW"],
                "site_office_ids": [offices["HP"], offices["BG"], offices["HY"]],
                "chair_user_id": users["leader"],
                "starts_at": first.isoformat(),
                "ends_at": (first + timedelta(hours=3)).isoformat(),
                "recurrence": "FREQ=WEEKLY;COUNT=4",
            },
        )
    return Story(live["id"], periodic["id"], crowd["id"])


def plan(story: Story) -> list[Shot]:
    """Every page, as the role that uses it."""
    return [
        Shot("public-login", None, "/login"),
        Shot("public-schedule", None, "/schedule"),
        Shot("staff-calendar-month", "staff", "/staff/calendar"),
        Shot("staff-calendar-week", "staff", "/staff/calendar?view=week"),
        Shot("staff-calendar-month-en", "staff", "/staff/calendar", lang="en"),
        Shot("staff-hearing-new", "staff", "/staff/hearings/new"),
        Shot("staff-hearing-live", "staff", f"/staff/hearings/{story.live_hearing}"),
        Shot("staff-hearing-periodic", "staff", f"/staff/hearings/{story.periodic_hearing}"),
        Shot("staff-minutes", "staff", f"/staff/hearings/{story.live_hearing}/minutes"),
        Shot("staff-petitions", "staff", "/staff/petitions"),
        Shot("staff-petition-new", "staff", "/staff/petitions/new"),
        Shot("staff-petition", "staff", f"/staff/petitions/{story.crowd_petition}"),
        Shot("leader-start", "leader", "/leader"),
        Shot("leader-reports", "leader", "/reports"),
        Shot("operator-board", "operator", "/operator"),
        Shot(
            "leader-hearing-live", "leader", f"/hearings/{story.live_hearing}/join", settle_ms=3000
        ),
        Shot("site-kiosk", "staff.hungyen", "/site", settle_ms=4000),
        Shot("site-self-test", "staff.hungyen", "/self-test"),
        Shot("error-403", "operator", "/staff/petitions", error_page=True),
        Shot("error-404", "staff", "/staff/hearings/999999", error_page=True),
    ]


async def shoot(browser: Browser, base_url: str, shots: list[Shot], out: Path) -> list[str]:
    """Save every shot at both sizes; returns the console errors seen."""
    watch = ConsoleWatch()
    for size in SIZES:
        for shot in shots:
            context = await new_context(browser, base_url, size)
            try:
                if shot.user:
                    await sign_in_api(context, shot.user)
                if shot.lang != "vi":
                    await context.request.get(f"/lang/{shot.lang}")
                page = await context.new_page()
                if not shot.error_page:
                    watch.watch(page)
                await open_page(page, shot.path)
                if shot.settle_ms:
                    await page.wait_for_timeout(shot.settle_ms)
                await page.screenshot(
                    path=out / f"{shot.name}-{size['width']}x{size['height']}.png"
                )
            finally:
                await context.close()
    return watch.take()


async def connect_sites(base_url: str, usernames: tuple[str, ...]) -> list[Any]:
    """Socket.IO clients signed in as these users, so the operator board shows their offices
    online (when the hub has signaling)."""
    import socketio

    clients: list[Any] = []
    async with aiohttp.ClientSession() as session:
        api = HubApi(base_url, session)
        for username in usernames:
            await api.login(username)
            client = socketio.AsyncClient(reconnection=False)
            await client.connect(base_url, auth={"token": api.token}, transports=["websocket"])
            clients.append(client)
    return clients


async def run(out: Path, only: str = "") -> int:
    """Start the hub, prepare the records, take every shot (or those named `only`*)."""
    from hub.config import Settings

    with tempfile.TemporaryDirectory(prefix="tcd-screens-") as tmp:
        settings = Settings(data_dir=Path(tmp), secret_key="tcd-hub-screenshots")
        server, runner = await start_hub(settings)
        sites: list[Any] = []
        try:
            story = await prepare(server.url)
            if any(r.canonical.startswith("/socket.io") for r in server.app.router.resources()):
                sites = await connect_sites(server.url, SITE_USERS)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM_EXECUTABLE,
                    headless=True,
                    # A fake camera and microphone for the live pages.
                    args=[
                        *CHROMIUM_ARGS,
                        "--use-fake-device-for-media-stream",
                        "--use-fake-ui-for-media-stream",
                    ],
                )
                try:
                    shots = [shot for shot in plan(story) if shot.name.startswith(only)]
                    errors = await shoot(browser, server.url, shots, out)
                finally:
                    await browser.close()
        finally:
            for site in sites:
                await site.disconnect()
            await runner.cleanup()
    count = len([shot for shot in plan(story) if shot.name.startswith(only)]) * len(SIZES)
    print(f"saved {count} screenshots in {out}")
    for error in errors:
        print(f"console error: {error}", file=sys.stderr)
    return 1 if errors else 0


def main() -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--only", default="", help="only the shots whose name starts so")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    return asyncio.run(run(args.out, args.only))


if __name__ == "__main__":
    sys.exit(main())

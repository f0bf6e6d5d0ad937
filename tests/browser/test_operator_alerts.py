"""The operator board in real Chromium against a real `tcd-hub serve`, with a site whose network
the test really breaks: a site agent (`tcd-hub site`) in a network namespace of its own
(tests.fixtures_netns), the hub listening on the machine's end of its veth pair. When the link
goes down the board shows a site_offline alert within 5 s; the operator acknowledges it on the
page and the API names who did and when; when the link comes back the site rejoins by itself and
the alert is marked closed on the board. On the way the site's row shows its presence and its
15-minute sparkline, and its own page its 24-hour graphs.

The operator's Chromium runs in this machine's namespace and opens the hub at the veth address
over plain HTTP: not a secure context, which an operator's board does not need.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser

from signaling.site_agent import SiteAgent
from tests.browser.serve import hub_settings, prepare, served
from tests.browser.sites import HubApi, SitePage
from tests.fixtures_hub import HubServer
from tests.fixtures_netns import SiteNetwork, site_network
from tests.signaling.test_media_exchange import clip

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


@pytest.fixture
def network() -> Iterator[SiteNetwork]:
    with site_network() as made:
        yield made


@pytest.fixture
async def hub(tmp_path: Path, network: SiteNetwork) -> AsyncIterator[HubServer]:
    """The real hub on the veth pair's host end, announcing that address for media."""
    settings = hub_settings(tmp_path / "hub")
    await prepare(settings)
    async with served(settings, tmp_path, host=network.host_ip) as server:
        yield server


@contextlib.contextmanager
def site_in(
    network: SiteNetwork, hub_url: str, token: str, hearing_id: int, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`tcd-hub site` inside the namespace, publishing a test pattern into the hearing."""
    argv = [sys.executable, "-m", "hub.cli", "site", "--hub", hub_url, "--token", token]
    argv += ["--hearing", str(hearing_id), "--seconds", "170", "--ice-ip", network.site_ip]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            network.command(argv), env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            yield process
        finally:
            process.kill()
            process.wait()


def office_participant(chair: SiteAgent, office_id: int) -> str | None:
    for pid, described in chair.participants.items():
        if described.get("office_id") == office_id:
            return pid
    return None


async def until(predicate: Callable[[], object], within: float, what: str) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > within:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def test_a_cut_site_raises_an_alert_the_operator_acknowledges_and_its_return_closes(
    hub: HubServer, network: SiteNetwork, chromium: Browser, tmp_path: Path
) -> None:
    async with aiohttp.ClientSession() as session:
        staff = HubApi(hub.url, session)
        await staff.login("staff")
        leader = HubApi(hub.url, session)
        leader_user = await leader.login("leader")
        offices = await staff.offices_by_code()
        hy = offices["HY"]["id"]
        hearing_id = await staff.live_hearing(
            "Phiên thử cảnh báo kết nối",
            host_office_id=leader_user["office_id"],
            site_office_ids=[hy],
        )
        token = await staff.join_token(hearing_id, hy)

        # Plain HTTP at the veth address is no secure context: no camera for the operator.
        operator = await SitePage.open(chromium, hub.url, "operator", camera=False)
        page = operator.page
        link_requests: list[str] = []
        page.on("request", lambda r: link_requests.append(r.url) if "/link" in r.url else None)
        await page.goto("/operator")
        await page.wait_for_selector("#op-live[data-state=connected]", timeout=10_000)
        await page.wait_for_selector("#op-alerts-panel[aria-busy=false]", timeout=10_000)
        row = f'#op-table tr[data-office-id="{hy}"]'

        chair = SiteAgent(
            hub.url, leader.token, hearing_id, clip=clip(), ice_ips=(network.host_ip,)
        )
        await chair.start()
        try:
            with site_in(network, hub.url, token, hearing_id, tmp_path / "site.log"):
                await until(lambda: office_participant(chair, hy), 30, "the site waiting")
                first = office_participant(chair, hy)
                assert (await chair.call("admit", {"participant_id": first}))["ok"]
                await until(
                    lambda: chair.stats().received_video.get(str(first), 0) >= 30,
                    20,
                    "the site's media at the chair",
                )
                # Its presence on the board: in the hearing (or degraded, were the link poor).
                await page.wait_for_selector(
                    f"{row}[data-presence=in_hearing], {row}[data-presence=degraded]",
                    timeout=10_000,
                )
                assert (await page.text_content(f"{row} .conn")) in (
                    "Đang dự phiên",
                    "Đường truyền kém",
                )
                # Its sparkline, once the row is on screen (rows off screen fetch nothing).
                await page.locator(row).scroll_into_view_if_needed()
                await page.wait_for_function(
                    "(sel) => Number(document.querySelector(sel)?.dataset.points || 0) > 0",
                    arg=f"{row} td.spark-cell",
                    timeout=30_000,
                )
                assert await page.locator(f"{row} td.spark-cell canvas").count() == 1
                assert any(f"/api/v1/offices/{hy}/link?graph=false" in u for u in link_requests)

                network.cut()
                cut_at = time.monotonic()
                alert = f'#op-alerts li[data-kind=site_offline][data-office-id="{hy}"]'
                await page.wait_for_selector(f"{alert}[data-open=true]", timeout=5_000)
                shown_after = time.monotonic() - cut_at
                text = await page.text_content(alert) or ""
                assert "Mất kết nối" in text and offices["HY"]["name"] in text, text

                await page.click(f"{alert} button.alert__button")
                await page.wait_for_selector(f"{alert}[data-acknowledged=true]", timeout=5_000)
                ack_text = await page.text_content(f"{alert} .alert__ack") or ""
                assert ack_text.startswith(f"Đã xác nhận: {operator.user['display_name']} lúc"), (
                    ack_text
                )
                alert_id = int(await page.get_attribute(alert, "data-alert-id") or 0)
                api_operator = HubApi(hub.url, session)
                await api_operator.login("operator")
                listed = await api_operator.call(
                    "GET", f"/api/v1/alerts?office={hy}&kind=site_offline"
                )
                mine = next(a for a in listed["items"] if a["id"] == alert_id)
                assert mine["acknowledged_by"] == operator.user["id"], mine
                assert mine["acknowledged_by_name"] == operator.user["display_name"]
                assert mine["acknowledged_at"] is not None and mine["open"] is True

                await asyncio.sleep(max(0.0, 10 - (time.monotonic() - cut_at)))
                network.restore()
                restored_at = time.monotonic()
                await until(
                    lambda: (
                        (pid := office_participant(chair, hy)) is not None
                        and pid != first
                        and chair.stats().received_video.get(str(pid), 0) >= 15
                    ),
                    15,
                    "the site back with media",
                )
                await page.wait_for_selector(f"{alert}[data-open=false]", timeout=10_000)
                closed_after = time.monotonic() - restored_at
                # Acknowledged stays acknowledged; the closed alert stays listed, marked.
                assert await page.get_attribute(alert, "data-acknowledged") == "true"
                assert "đã đóng" in (await page.text_content(f"{alert} .alert__when") or "")
                print(
                    f"\nalert on the board {shown_after:.2f} s after the cut; closed on the"
                    f" board {closed_after:.2f} s after the link came back"
                )

                # The site's own page: its 24-hour graphs hold the hearing's samples.
                await page.click(f"{row} a.site-link")
                await page.wait_for_url(f"**/operator/sites/{hy}")
                await page.wait_for_selector("#site-graphs[aria-busy=false]", timeout=10_000)
                for name in ("rtt", "loss", "bitrate", "fps"):
                    points = await page.get_attribute(f"#graph-{name}", "data-points")
                    assert points is not None and int(points) >= 1, (name, points)
                    assert await page.locator(f"#graph-{name} canvas").count() == 1
                assert await page.get_attribute("#site-grade", "data-grade") in (
                    "good",
                    "poor",
                    "bad",
                    "unknown",
                )
        finally:
            await chair.close()
        # Chromium says, as an error, that it ignores the hub's Cross-Origin-Opener-Policy on
        # an origin that is not potentially trustworthy (plain HTTP on a LAN address).
        errors = [e for e in operator.console_errors if "Cross-Origin-Opener-Policy" not in e]
        assert not errors, errors
        await operator.close()

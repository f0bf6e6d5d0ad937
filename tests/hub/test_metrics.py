"""GET /metrics scraped from a real hub and parsed back with prometheus_client's parser: sites
by state, a live hearing's media, open alerts, API latency by route template, the event loop's
lag; and who may scrape."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from hub.api.keys import DATABASE
from hub.app import create_app
from hub.config import Settings
from hub.domain.alerts import AlertDraft, AlertKind
from hub.domain.link_grade import LinkSample
from hub.services import alerts
from signaling.link_monitor import LINK_MONITOR
from tests.fixtures_hub import HubFactory, HubServer
from tests.fixtures_net import free_port
from tests.signaling.live_hub import Client, Rest, agent

pytestmark = pytest.mark.timeout(120)


async def scrape(url: str, **headers: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{url}/metrics", headers=headers) as response,
    ):
        return response.status, await response.text()


def samples(text: str) -> dict[str, list[Sample]]:
    """Every sample by its metric name (histograms' _bucket, _count, _sum included)."""
    out: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(sample)
    return out


def value(found: dict[str, list[Sample]], name: str, **labels: str) -> float:
    matching = [
        s.value for s in found[name] if all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(matching) == 1, (name, labels, found.get(name))
    return matching[0]


async def test_a_scrape_shows_sites_a_live_hearing_alerts_latency_and_lag(
    hub_server: HubFactory,
) -> None:
    hub = await hub_server()
    async with aiohttp.ClientSession() as session:
        rest = Rest(hub.url, session)
        staff, leader = await rest.login("staff"), await rest.login("leader")
        offices = await rest.offices(staff)
        hy, bg = offices["HY"], offices["BG"]
        hid = await rest.schedule(staff, sites=[hy], chair=leader)
        await rest.call(leader, "POST", f"/api/v1/hearings/{hid}/start")
        hy_token = await rest.join_token(await rest.login("staff.hungyen"), hid)
        kiosk = await Client().connect(hub.url, (await rest.login("staff.bacgiang")).token)
        lead, site = agent(hub.url, leader.token, hid), agent(hub.url, hy_token, hid)
        try:
            await lead.start()
            await site.start()
            await lead.call("admit", {"participant_id": site.participant_id})
            assert hub.app is not None
            async with hub.app[DATABASE].transaction() as db:
                await alerts.open_alert(db, AlertDraft(AlertKind.SITE_DEGRADED, hy, hid))
                await alerts.open_alert(db, AlertDraft(AlertKind.SITE_OFFLINE, bg))
            # A 404 on a templated route, twice: one series for the template, not one per id.
            for missing in (987654, 987655):
                async with session.get(
                    f"{hub.url}/api/v1/hearings/{missing}",
                    headers={"Authorization": f"Bearer {staff.token}"},
                ) as response:
                    assert response.status == 404

            async def both_admitted() -> bool:
                _, text = await scrape(hub.url)
                found = samples(text)
                return value(found, "tcd_sites", state="in_hearing") == 2 and (
                    value(found, "tcd_media_forwarded_tracks") >= 2
                )

            ok = False
            for _ in range(100):
                if ok := await both_admitted():
                    break
                await asyncio.sleep(0.1)
            assert ok, "the scrape never showed both sites in the hearing with media forwarded"
            status, text = await scrape(hub.url)
        finally:
            await site.close()
            await lead.close()
            await kiosk.close()

    assert status == 200
    found = samples(text)
    assert value(found, "tcd_sites", state="in_hearing") == 2  # the chair's office and HY
    assert value(found, "tcd_sites", state="online") == 1  # Bắc Giang's kiosk, in no hearing
    assert value(found, "tcd_sites", state="offline") == 0
    assert value(found, "tcd_hearings_live") == 1
    assert value(found, "tcd_media_rooms") == 1
    assert value(found, "tcd_media_participants") == 2
    assert value(found, "tcd_media_forwarded_tracks") >= 2
    assert value(found, "tcd_alerts_open", kind="site_degraded") == 1
    assert value(found, "tcd_alerts_open", kind="site_offline") == 1
    assert value(found, "tcd_alerts_open", kind="self_test_failed") == 0
    # Latency by route template, method and status; raw ids never appear.
    assert (
        value(
            found,
            "tcd_http_request_duration_seconds_count",
            route="/api/v1/hearings/{id}",
            method="GET",
            status="404",
        )
        == 2
    )
    assert (
        value(
            found,
            "tcd_http_request_duration_seconds_count",
            route="/api/v1/hearings/{id}/start",
            method="POST",
            status="200",
        )
        == 1
    )
    assert "987654" not in text
    assert not any("/metrics" in s.labels.get("route", "") for s in found.get(
        "tcd_http_request_duration_seconds_count", []))  # fmt: skip
    # The lag probe runs as long as the app (every 0.25 s): its count keeps growing.
    probes = value(found, "tcd_event_loop_lag_seconds_count")
    assert probes >= 1
    assert value(found, "tcd_event_loop_lag_last_seconds") >= 0
    await asyncio.sleep(0.8)
    later = samples((await scrape(hub.url))[1])
    assert value(later, "tcd_event_loop_lag_seconds_count") > probes


async def test_every_app_has_its_own_registry(hub_server: HubFactory) -> None:
    one, two = await hub_server(), await hub_server()
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            async with session.get(f"{one.url}/api/v1/offices"):
                pass
    first, second = samples((await scrape(one.url))[1]), samples((await scrape(two.url))[1])
    route = {"route": "/api/v1/offices", "method": "GET", "status": "401"}
    assert value(first, "tcd_http_request_duration_seconds_count", **route) == 3
    assert not [
        s for s in second.get("tcd_http_request_duration_seconds_count", [])
        if s.labels.get("route") == "/api/v1/offices"
    ]  # fmt: skip


async def test_a_proxied_request_needs_the_token(hub_server: HubFactory) -> None:
    hub = await hub_server(metrics_token="scrape-secret")
    # Behind a proxy on the same host every visitor comes from 127.0.0.1.
    status, text = await scrape(hub.url, **{"X-Forwarded-For": "203.0.113.9"})
    assert status == 403 and "TCD_METRICS_TOKEN" in text
    status, _ = await scrape(hub.url, Authorization="Bearer wrong")
    assert status == 403
    status, text = await scrape(
        hub.url, Authorization="Bearer scrape-secret", **{"X-Forwarded-For": "203.0.113.9"}
    )
    assert status == 200 and "tcd_sites" in text


@pytest.fixture
async def hub_on_lan(hub_server: HubFactory) -> AsyncIterator[tuple[str, str]]:
    """The app served on this machine's first non-loopback address as well, so a scrape comes
    from an address that is not the loopback's: (its URL, the token)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("203.0.113.1", 9))  # no packet is sent; the default route picks it
        address = probe.getsockname()[0]
    assert not address.startswith("127."), "this machine has no non-loopback IPv4 address"
    base: HubServer = await hub_server(metrics_token="lan-secret")
    settings: Settings = base.settings
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, address, port).start()
    try:
        yield f"http://{address}:{port}", "lan-secret"
    finally:
        await runner.cleanup()


async def test_a_client_off_the_loopback_needs_the_token(hub_on_lan: tuple[str, str]) -> None:
    url, token = hub_on_lan
    status, _ = await scrape(url)
    assert status == 403
    status, text = await scrape(url, Authorization=f"Bearer {token}")
    assert status == 200
    assert "tcd_event_loop_lag_seconds" in text


async def test_the_grades_of_the_sites_measured_here_are_exported(hub_server: HubFactory) -> None:
    hub = await hub_server()
    assert hub.app is not None
    monitor = hub.app[LINK_MONITOR]
    for _ in range(3):
        await monitor.measured(2, LinkSample(loss_pct=12.0))
        await monitor.measured(3, LinkSample(loss_pct=0.5))
        await monitor.measured(4, LinkSample(rtt_ms=900.0))
    found = samples((await scrape(hub.url))[1])
    assert value(found, "tcd_site_grade", office_id="2") == 1
    assert value(found, "tcd_site_grade", office_id="3") == 0
    assert value(found, "tcd_site_grade", office_id="4") == 2
    assert value(found, "tcd_sites_by_grade", grade="poor") == 1
    assert value(found, "tcd_sites_by_grade", grade="unknown") == 0

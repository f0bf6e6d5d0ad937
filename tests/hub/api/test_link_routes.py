"""A site's link over the API: the grade now with its reasons, the latest figures, the sparkline
and the 24-hour series, for offices in the caller's scope."""

from __future__ import annotations

import time

from hub.domain.link_grade import LinkSample
from signaling.link_monitor import LINK_MONITOR
from tests.hub.client import Api, ThreadedHub, assert_error


def measure(hub: ThreadedHub, office: str, *samples: LinkSample) -> None:
    """Samples as the rooms hand them to the link monitor, a second apart, ending now."""
    assert hub.server.app is not None
    monitor = hub.server.app[LINK_MONITOR]
    office_id = hub.office(office)  # resolved here: hub.office calls the hub's own loop
    now = time.time()

    async def go() -> None:
        for i, sample in enumerate(samples):
            await monitor.measured(office_id, sample, at=now - len(samples) + 1 + i)

    hub.run(go())


async def test_a_lossy_site_reads_poor_with_its_figures_and_series(
    api: Api, hub: ThreadedHub
) -> None:
    measure(
        hub,
        "HY.VANLAM",
        *(LinkSample(loss_pct=loss, rtt_ms=45.0, bitrate_in_kbps=700.0) for loss in (9, 12, 13)),
    )
    monitor = hub.server.app[LINK_MONITOR] if hub.server.app is not None else None
    assert monitor is not None
    monitor.client_reported(hub.office("HY.VANLAM"), LinkSample(candidate_type="relay"))
    measure(hub, "HY.VANLAM", LinkSample(loss_pct=14.0, rtt_ms=47.0, bitrate_in_kbps=690.0))
    path = f"/api/v1/offices/{hub.office('HY.VANLAM')}/link"
    reply = await api.get(path, user="operator.hungyen")
    assert reply.status == 200, reply.text
    body = reply.json
    assert body["grade"] == "poor"
    assert [(r["code"], r["grade"]) for r in body["reasons"]] == [
        ("loss", "poor"),
        ("relay", "good"),
    ]
    assert body["latest"]["loss_pct"] == 14.0 and body["latest"]["candidate_type"] == "relay"
    assert body["latest"]["at"].endswith("+07:00")
    assert sum(p["samples"] for p in body["sparkline"]) == 4
    assert sum(p["samples"] for p in body["graph"]) == 4
    assert body["sparkline"][-1]["rtt_ms"] is not None
    board = await api.get(path, user="leader", params={"graph": "false"})
    assert board.json["graph"] is None and board.json["grade"] == "poor"


async def test_a_site_never_measured_is_unknown(api: Api, hub: ThreadedHub) -> None:
    reply = await api.get(f"/api/v1/offices/{hub.office('BG')}/link", user="staff.bacgiang")
    assert reply.status == 200, reply.text
    assert reply.json["grade"] == "unknown" and reply.json["latest"] is None
    assert reply.json["sparkline"] == [] and reply.json["graph"] == []


async def test_an_office_outside_the_scope_is_not_found(api: Api, hub: ThreadedHub) -> None:
    assert_error(
        await api.get(f"/api/v1/offices/{hub.office('BG')}/link", user="operator.hungyen"), 404
    )
    assert_error(await api.get("/api/v1/offices/999999/link", user="operator"), 404)
    assert_error(await api.get(f"/api/v1/offices/{hub.office('BG')}/link"), 401)

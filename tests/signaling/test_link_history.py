"""Link history: raw samples for 15 minutes, 5-minute buckets for 24 hours, in memory and in a
real redis-server, through the same interface."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis_asyncio

from hub.config import Settings
from hub.domain.link_grade import LinkSample
from signaling.link_history import (
    BUCKET_SECONDS,
    GRAPH_BUCKETS,
    RAW_LIMIT,
    RAW_SECONDS,
    LinkHistory,
    MemoryLinkHistory,
    RedisLinkHistory,
    open_link_history,
)

# On a bucket boundary, in the future: bucket keys expire at an absolute time.
T0 = 1_830_000_000.0
assert T0 % BUCKET_SECONDS == 0


@pytest.fixture(params=["memory", "redis"])
async def history(request: pytest.FixtureRequest) -> AsyncIterator[LinkHistory]:
    if request.param == "memory":
        store: LinkHistory = MemoryLinkHistory()
    else:
        store = RedisLinkHistory(request.getfixturevalue("redis_url"))
    try:
        yield store
    finally:
        await store.close()


def sample(i: int) -> LinkSample:
    return LinkSample(
        rtt_ms=40.0 + i % 5,
        loss_pct=float(i % 3),
        bitrate_in_kbps=800.0,
        keyframe_requests=i % 2,
        candidate_type="relay" if i % 2 else "host",
        quality_limitation="bandwidth",
        sent_width=640,
    )


async def test_samples_come_back_in_order_with_every_figure(history: LinkHistory) -> None:
    for i in range(10):
        await history.add(7, sample(i), T0 + 3 * i)
    await history.add(8, LinkSample(rtt_ms=999.0), T0)
    got = await history.since(7, T0 + 15)
    assert [at for at, _ in got] == [T0 + 3 * i for i in range(5, 10)]
    assert [s for _, s in got] == [sample(i) for i in range(5, 10)]
    assert await history.since(9, 0) == []
    assert [s.rtt_ms for _, s in await history.since(8, 0)] == [999.0]


async def test_raw_samples_are_kept_15_minutes_and_at_most_raw_limit(
    history: LinkHistory,
) -> None:
    for i in range(400):  # 20 minutes at one every 3 s
        await history.add(1, sample(i), T0 + 3 * i)
    kept = await history.since(1, 0)
    newest = T0 + 3 * 399
    assert kept[0][0] >= newest - RAW_SECONDS
    assert kept[-1][0] == newest
    assert len(kept) == RAW_SECONDS // 3 + 1
    for i in range(RAW_LIMIT + 50):  # a client sending every 0.5 s
        await history.add(2, sample(i), T0 + 0.5 * i)
    kept = await history.since(2, 0)
    assert len(kept) == RAW_LIMIT
    assert kept[-1][0] == T0 + 0.5 * (RAW_LIMIT + 49)


async def test_the_sparkline_averages_30_second_steps_of_the_last_15_minutes(
    history: LinkHistory,
) -> None:
    # 20 minutes; each 30 s holds ten samples, loss 0, 1, 2, ... (mean 1.0 where whole).
    for i in range(400):
        await history.add(3, LinkSample(loss_pct=float(i % 3), rtt_ms=50.0), T0 + 3 * i)
    now = T0 + 3 * 399
    points = await history.sparkline(3, now)
    assert 30 <= len(points) <= 31
    assert all(now - 15 * 60 - 30 <= p.at <= now for p in points)
    assert all(p.at % 30 == 0 for p in points)
    whole = [p for p in points if p.samples == 10]
    assert len(whole) >= 29
    assert all(p.means["rtt_ms"] == 50.0 for p in points)
    assert all(0.9 <= (p.means["loss_pct"] or 0) <= 1.1 for p in whole)
    assert all(p.means["jitter_ms"] is None for p in points)
    # Many at once (the board's snapshot) give the same, and nothing for an unknown office.
    assert await history.sparklines([3, 99], now) == {3: points, 99: []}


async def test_the_graph_has_5_minute_buckets_for_24_hours(history: LinkHistory) -> None:
    # One sample a minute for 25 hours, rtt = the hour number.
    for minute in range(25 * 60):
        at = T0 + 60 * minute
        await history.add(4, LinkSample(rtt_ms=float(minute // 60), fps=30.0), at)
    now = T0 + 60 * (25 * 60 - 1)
    points = await history.graph(4, now)
    assert len(points) == GRAPH_BUCKETS
    assert points[0].at > now - 24 * 3600
    assert points[-1].at <= now
    assert all(p.samples == 5 for p in points)
    assert points[-1].means["rtt_ms"] == 24.0
    assert points[0].means["rtt_ms"] == 1.0
    assert all(p.means["fps"] == 30.0 for p in points)
    assert all(p.means["loss_pct"] is None for p in points)
    # Long after the last sample there is nothing left to graph.
    assert await history.graph(4, now + 25 * 3600) == []


async def test_redis_keys_expire_on_their_own(redis_url: str) -> None:
    store = RedisLinkHistory(redis_url)
    client = redis_asyncio.Redis.from_url(redis_url)
    try:
        await store.add(5, LinkSample(rtt_ms=30.0), T0)
        keys = sorted(k.decode() for k in await client.keys("tcd:link:5:*"))
        assert keys == ["tcd:link:5:30s", "tcd:link:5:5m", "tcd:link:5:raw"]
        assert 0 < await client.ttl("tcd:link:5:raw") <= 2 * RAW_SECONDS
        assert 0 < await client.ttl("tcd:link:5:30s") <= 15 * 60 + 30
        assert 0 < await client.ttl("tcd:link:5:5m") <= 24 * 3600 + BUCKET_SECONDS
        # A series' hash holds the buckets it shows, plus the one a new bucket replaces.
        for minute in range(1, 40):
            await store.add(5, LinkSample(rtt_ms=30.0), T0 + 60 * minute)
        assert await client.hlen("tcd:link:5:30s") <= 31
    finally:
        await client.aclose()
        await store.close()


def test_open_link_history_picks_redis_only_when_configured(redis_url: str) -> None:
    assert isinstance(open_link_history(Settings()), MemoryLinkHistory)
    assert isinstance(open_link_history(Settings(redis_url=redis_url)), RedisLinkHistory)


async def test_memory_per_office_is_bounded_as_documented() -> None:
    """An office with everything measured, sampled every 2 s for a day (RAW_LIMIT raw samples
    and every bucket full): what it holds, extrapolated to 3,400 sites."""
    store = MemoryLinkHistory()
    full = LinkSample(
        rtt_ms=41.5, loss_pct=1.25, jitter_ms=4.5, bitrate_in_kbps=812.4, bitrate_out_kbps=2400.0,
        fps=29.5, keyframe_requests=1, sent_width=1280, sent_height=720, sent_fps=30.0,
        quality_limitation="none", candidate_type="srflx", available_outgoing_kbps=2500.0,
    )  # fmt: skip
    offices = 20
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    # A bucket's sums are the same whatever the number of samples: 24 h of buckets plus a full
    # raw ring stand for a day at 2 s.
    for office in range(offices):
        for step in range(GRAPH_BUCKETS):
            await store.add(office, full, T0 + BUCKET_SECONDS * step)
        for i in range(RAW_LIMIT):  # 15 minutes at 2 s fill the sparkline's buckets too
            await store.add(office, full, T0 + BUCKET_SECONDS * GRAPH_BUCKETS + 2 * i)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    per_office = used / offices
    print(f"memory link history: {per_office / 1000:.1f} kB per office, "
          f"{per_office * 3400 / 1e9:.2f} GB for 3,400")  # fmt: skip
    assert len(await store.since(0, 0)) == RAW_LIMIT
    assert len(await store.graph(0, T0 + BUCKET_SECONDS * GRAPH_BUCKETS + 2 * RAW_LIMIT)) > 0
    # The module's docstring says about 63 kB per office (0.21 GB for 3,400 sites).
    assert per_office < 80_000

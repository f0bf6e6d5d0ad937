"""A day of every site's link samples: a Redis store when the hub has Redis, memory otherwise.

Raw samples (every 2-5 s) are kept for the last RAW_SECONDS, which is what a site's grade and
the operators' 15-minute sparkline read; over 24 hours each sample is also added into its
5-minute bucket (per figure a sum and a count), which is what a site's 24-hour graph reads.
Keeping 24 hours of raw samples is out of reach at the hub's size: 3,400 sites at one sample
every 3 s are 98 million samples a day, several gigabytes in Redis and far more in Python.

Bounds, per office at most RAW_LIMIT raw samples and GRAPH_BUCKETS + 1 buckets. Measured with
every figure present, a sample every 2 s for a day (the worst case):
- MemoryLinkHistory: flat arrays (32-bit figures): about 60 kB per office, 0.2 GB for 3,400
  sites (tests/signaling/test_link_history.py measures it).
- RedisLinkHistory: one sorted set of raw samples per office (compact CSV members) and one
  small hash per 5-minute bucket, each expiring on its own: about 190 kB of Redis memory per
  office, 0.65 GB for 3,400 sites (redis INFO used_memory; most of it the buckets' hashes).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol

from hub.config import Settings
from hub.domain.link_grade import LinkSample

# Raw samples are kept this long (seconds) and at most RAW_LIMIT of them per office (15 min at
# one every 2 s: a client sending faster is trimmed to its newest).
RAW_SECONDS = 15 * 60
RAW_LIMIT = 450
# The 24-hour graph: 5-minute buckets, 288 of them.
BUCKET_SECONDS = 5 * 60
GRAPH_SECONDS = 24 * 3600
GRAPH_BUCKETS = GRAPH_SECONDS // BUCKET_SECONDS
# The sparkline: the last 15 minutes in 30-second steps.
SPARK_SECONDS = RAW_SECONDS
SPARK_STEP = 30

# The figures that are averaged into series (the numbers; the client's candidate type and
# limitation are kept in raw samples only).
FIGURES: tuple[str, ...] = tuple(
    f.name for f in fields(LinkSample) if f.name not in ("quality_limitation", "candidate_type")
)
# The two text fields, stored as small numbers in the memory ring.
_CANDIDATES = ("host", "srflx", "prflx", "relay")
_LIMITATIONS = ("none", "cpu", "bandwidth", "other")


@dataclass(frozen=True)
class SeriesPoint:
    """One step of a series: its start (unix seconds), how many samples fell in it, and the
    mean of each figure over them (None where none of them measured it)."""

    at: float
    samples: int
    means: dict[str, float | None]

    def as_dict(self) -> dict[str, Any]:
        """at, samples, then every figure's mean."""
        return {"at": self.at, "samples": self.samples, **self.means}


class LinkHistory(Protocol):
    """Port: where every site's link samples go, and the series operators' pages draw."""

    async def add(self, office_id: int, sample: LinkSample, at: float) -> None:
        """A sample of an office's link measured at `at` (unix seconds)."""

    async def since(self, office_id: int, t: float) -> list[tuple[float, LinkSample]]:
        """Raw samples from `t` on (at most RAW_SECONDS back), oldest first."""

    async def sparkline(self, office_id: int, now: float) -> list[SeriesPoint]:
        """The last 15 minutes in 30-second steps (steps without a sample left out)."""

    async def graph(self, office_id: int, now: float) -> list[SeriesPoint]:
        """The last 24 hours in 5-minute steps (steps without a sample left out)."""

    async def close(self) -> None:
        """Release the connection, if any."""


class _Bucket:
    """Sum and count per figure over one step."""

    __slots__ = ("counts", "n", "sums")

    def __init__(self) -> None:
        self.n = 0
        self.sums = [0.0] * len(FIGURES)
        self.counts = [0] * len(FIGURES)

    def add(self, sample: LinkSample) -> None:
        self.n += 1
        for i, name in enumerate(FIGURES):
            value = getattr(sample, name)
            if value is not None:
                self.sums[i] += float(value)
                self.counts[i] += 1

    def point(self, at: float) -> SeriesPoint:
        means = {
            name: round(self.sums[i] / self.counts[i], 2) if self.counts[i] else None
            for i, name in enumerate(FIGURES)
        }
        return SeriesPoint(at, self.n, means)


def downsample(
    samples: Iterable[tuple[float, LinkSample]], start: float, end: float, step: float
) -> list[SeriesPoint]:
    """Samples in [start, end) averaged per step (aligned on multiples of `step`)."""
    buckets: dict[float, _Bucket] = {}
    for at, sample in samples:
        if start <= at < end:
            key = math.floor(at / step) * step
            buckets.setdefault(key, _Bucket()).add(sample)
    return [buckets[k].point(k) for k in sorted(buckets)]


def _bucket_start(at: float) -> int:
    return int(math.floor(at / BUCKET_SECONDS) * BUCKET_SECONDS)


# -- memory ---------------------------------------------------------------------------------


class _OfficeRing:
    """One office's samples in flat arrays: raw rows (times apart, figures as 32-bit floats,
    NaN for none) and 5-minute buckets (starts apart; a row is n, then per figure its sum and
    count)."""

    __slots__ = ("buckets", "last", "rows", "starts", "times")

    def __init__(self) -> None:
        self.times = array("d")
        self.rows = array("f")
        self.starts = array("q")
        self.buckets = array("f")
        self.last = 0.0


# A raw row: every figure, then the candidate type and the limitation as their index.
_RAW_STRIDE = len(FIGURES) + 2
_BUCKET_STRIDE = 1 + 2 * len(FIGURES)


def _encode(sample: LinkSample) -> list[float]:
    row = [math.nan if (v := getattr(sample, n)) is None else float(v) for n in FIGURES]
    row.append(_code(_CANDIDATES, sample.candidate_type))
    row.append(_code(_LIMITATIONS, sample.quality_limitation))
    return row


def _code(names: Sequence[str], value: str | None) -> float:
    return math.nan if value is None else float(names.index(value))


def _decode(ring: _OfficeRing, i: int) -> tuple[float, LinkSample]:
    base = i * _RAW_STRIDE
    rows = ring.rows
    values: dict[str, Any] = {}
    for j, name in enumerate(FIGURES):
        v = rows[base + j]
        if not math.isnan(v):
            # 32-bit floats keep 7 digits: the figures' own precision, not the float's noise.
            values[name] = int(v) if name in _INTEGERS else round(v, 3)
    candidate, limitation = rows[base + len(FIGURES)], rows[base + len(FIGURES) + 1]
    if not math.isnan(candidate):
        values["candidate_type"] = _CANDIDATES[int(candidate)]
    if not math.isnan(limitation):
        values["quality_limitation"] = _LIMITATIONS[int(limitation)]
    return ring.times[i], LinkSample(**values)


_INTEGERS = frozenset({"keyframe_requests", "sent_width", "sent_height"})


class MemoryLinkHistory:
    """One process's history (no Redis): bounded per office, see the module's docstring."""

    def __init__(self) -> None:
        self._offices: dict[int, _OfficeRing] = {}
        self._swept_at = 0.0

    async def add(self, office_id: int, sample: LinkSample, at: float) -> None:
        """Append to the office's ring and add into its bucket; trim by age and count."""
        ring = self._offices.setdefault(office_id, _OfficeRing())
        ring.times.append(at)
        ring.rows.extend(_encode(sample))
        ring.last = max(ring.last, at)
        self._trim(ring)
        self._add_to_bucket(ring, sample, _bucket_start(at))
        if at - self._swept_at > 3600:
            self._swept_at = at
            self._forget_silent(at)

    def _trim(self, ring: _OfficeRing) -> None:
        times = ring.times
        keep_from = max(0, len(times) - RAW_LIMIT)
        cutoff = ring.last - RAW_SECONDS
        while keep_from < len(times) and times[keep_from] < cutoff:
            keep_from += 1
        if keep_from:
            del times[:keep_from]
            del ring.rows[: keep_from * _RAW_STRIDE]

    def _add_to_bucket(self, ring: _OfficeRing, sample: LinkSample, start: int) -> None:
        starts = ring.starts
        if not starts or starts[-1] < start:
            starts.append(start)
            ring.buckets.extend([0.0] * _BUCKET_STRIDE)
            if len(starts) > GRAPH_BUCKETS + 1:
                del starts[0]
                del ring.buckets[:_BUCKET_STRIDE]
        # Samples arrive in order but may be a bucket late (a client's figures); older ones
        # than the buckets kept are dropped.
        index = next((i for i in range(len(starts) - 1, -1, -1) if starts[i] == start), None)
        if index is None:
            return
        base = index * _BUCKET_STRIDE
        buckets = ring.buckets
        buckets[base] += 1
        for j, name in enumerate(FIGURES):
            value = getattr(sample, name)
            if value is not None:
                buckets[base + 1 + 2 * j] += float(value)
                buckets[base + 2 + 2 * j] += 1

    def _forget_silent(self, now: float) -> None:
        """Offices with nothing for a day take no memory (checked once an hour at most)."""
        for office_id in [o for o, r in self._offices.items() if r.last < now - GRAPH_SECONDS]:
            del self._offices[office_id]

    async def since(self, office_id: int, t: float) -> list[tuple[float, LinkSample]]:
        """Raw samples from `t` on, oldest first."""
        ring = self._offices.get(office_id)
        if ring is None:
            return []
        out = [_decode(ring, i) for i in range(len(ring.times)) if ring.times[i] >= t]
        return sorted(out, key=lambda s: s[0])

    async def sparkline(self, office_id: int, now: float) -> list[SeriesPoint]:
        """The last 15 minutes in 30-second steps."""
        start = now - SPARK_SECONDS
        return downsample(await self.since(office_id, start), start, now + 1e-9, SPARK_STEP)

    async def graph(self, office_id: int, now: float) -> list[SeriesPoint]:
        """The last 24 hours in 5-minute steps."""
        ring = self._offices.get(office_id)
        if ring is None:
            return []
        first = _bucket_start(now - GRAPH_SECONDS) + BUCKET_SECONDS
        out = []
        for index, start in enumerate(ring.starts):
            if not first <= start <= now:
                continue
            base = index * _BUCKET_STRIDE
            row = ring.buckets[base : base + _BUCKET_STRIDE]
            means = {
                name: round(row[1 + 2 * j] / row[2 + 2 * j], 2) if row[2 + 2 * j] else None
                for j, name in enumerate(FIGURES)
            }
            out.append(SeriesPoint(float(start), int(row[0]), means))
        return out

    async def close(self) -> None:
        """Nothing to release."""


# -- Redis ----------------------------------------------------------------------------------

PREFIX = "tcd:link:"


def _raw_key(office_id: int) -> str:
    return f"{PREFIX}{office_id}:raw"


def _bucket_key(office_id: int, start: int) -> str:
    return f"{PREFIX}{office_id}:5m:{start}"


# A raw member: "<at> <v>,<v>,..." with every field of LinkSample in order, empty for None
# (a third of the size of JSON with names, and unique by its time).
_FIELDS = tuple(f.name for f in fields(LinkSample))


def _member(at: float, sample: LinkSample) -> str:
    values = (getattr(sample, name) for name in _FIELDS)
    return f"{at!r} " + ",".join("" if v is None else str(v) for v in values)


def _parse_member(member: str) -> tuple[float, LinkSample]:
    at, _, rest = member.partition(" ")
    values: dict[str, Any] = {}
    for name, text in zip(_FIELDS, rest.split(","), strict=True):
        if not text:
            continue
        if name in ("candidate_type", "quality_limitation"):
            values[name] = text
        elif name in _INTEGERS:
            values[name] = int(text)
        else:
            values[name] = float(text)
    return float(at), LinkSample(**values)


class RedisLinkHistory:
    """Every node's samples in one Redis. Keys under `tcd:link:<office id>:`: `raw`, a sorted
    set scored by time whose members are "<at> <figures>" (trimmed by age and count on every
    add, expiring when the office stops sending), and `5m:<bucket start>`, a hash of `n` and per
    figure (by its index in FIGURES) `<i>s` (sum) and `<i>n` (count), expiring 24 hours after
    its bucket."""

    def __init__(self, url: str) -> None:
        # Imported here: a hub without Redis never loads the Redis client.
        import redis.asyncio as redis_asyncio

        self._redis: Any = redis_asyncio.Redis.from_url(url)

    async def add(self, office_id: int, sample: LinkSample, at: float) -> None:
        """One round trip: the raw sample, its trimming, and the bucket's counters."""
        raw = _raw_key(office_id)
        start = _bucket_start(at)
        bucket = _bucket_key(office_id, start)
        pipe = self._redis.pipeline(transaction=False)
        pipe.zadd(raw, {_member(at, sample): at})
        pipe.zremrangebyscore(raw, "-inf", f"({at - RAW_SECONDS!r}")
        pipe.zremrangebyrank(raw, 0, -(RAW_LIMIT + 1))
        pipe.expire(raw, RAW_SECONDS * 2)
        pipe.hincrby(bucket, "n", 1)
        for i, name in enumerate(FIGURES):
            value = getattr(sample, name)
            if value is not None:
                pipe.hincrbyfloat(bucket, f"{i}s", float(value))
                pipe.hincrby(bucket, f"{i}n", 1)
        pipe.expireat(bucket, start + BUCKET_SECONDS + GRAPH_SECONDS)
        await pipe.execute()

    async def since(self, office_id: int, t: float) -> list[tuple[float, LinkSample]]:
        """Raw samples from `t` on, oldest first."""
        members = await self._redis.zrangebyscore(_raw_key(office_id), repr(t), "+inf")
        return [_parse_member(m.decode()) for m in members]

    async def sparkline(self, office_id: int, now: float) -> list[SeriesPoint]:
        """The last 15 minutes in 30-second steps."""
        start = now - SPARK_SECONDS
        return downsample(await self.since(office_id, start), start, now + 1e-9, SPARK_STEP)

    async def graph(self, office_id: int, now: float) -> list[SeriesPoint]:
        """The last 24 hours in 5-minute steps: 288 hashes read in one round trip."""
        first = _bucket_start(now - GRAPH_SECONDS) + BUCKET_SECONDS
        starts = list(range(first, _bucket_start(now) + 1, BUCKET_SECONDS))
        pipe = self._redis.pipeline(transaction=False)
        for start in starts:
            pipe.hgetall(_bucket_key(office_id, start))
        out = []
        for start, found in zip(starts, await pipe.execute(), strict=True):
            if not found:
                continue
            values = {k.decode(): float(v) for k, v in found.items()}
            means = {
                name: round(values[f"{i}s"] / values[f"{i}n"], 2) if values.get(f"{i}n") else None
                for i, name in enumerate(FIGURES)
            }
            out.append(SeriesPoint(float(start), int(values.get("n", 0)), means))
        return out

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()


def open_link_history(settings: Settings) -> LinkHistory:
    """RedisLinkHistory when settings name a Redis, MemoryLinkHistory otherwise."""
    if settings.redis_url:
        return RedisLinkHistory(settings.redis_url)
    return MemoryLinkHistory()

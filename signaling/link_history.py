"""A day of every site's link samples: a Redis store when the hub has Redis, memory otherwise.

Raw samples (every 2-5 s) are kept for the last RAW_SECONDS (what `since` reads: the grade's
window, a site page's latest figures). Each sample is also added into two series of buckets,
per figure a sum and a count: 30-second buckets for 15 minutes (the operators' sparkline,
SPARK) and 5-minute buckets for 24 hours (a site's graphs, GRAPH). A series is read from its
buckets alone, never by decoding raw samples: a fraction of a millisecond a site. Keeping
24 hours of raw samples is out of reach at the hub's size: 3,400 sites at one sample every 3 s
are 98 million samples a day, several gigabytes in Redis and far more in Python.

Bounds, per office at most RAW_LIMIT raw samples and each series' buckets plus one. Measured
with every figure present, a sample every 2 s for a day (the worst case):
- MemoryLinkHistory: flat arrays (32-bit figures): about 63 kB per office, 0.21 GB for 3,400
  sites (tests/signaling/test_link_history.py measures it).
- RedisLinkHistory: per office one sorted set of raw samples (compact CSV members) and one hash
  per series (a field per bucket), all expiring when the office stops sending: about 150 kB of
  Redis memory per office, 0.5 GB for 3,400 sites (INFO used_memory). A sample is one script
  call of about 46 us of Redis time (5 % of its core for 3,400 sites every 3 s); a sparkline
  costs the hub about 0.4 ms to read and decode (1.3 s for 3,400 at once: fetch what is shown).
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


@dataclass(frozen=True)
class Series:
    """Buckets of `step` seconds covering the last `span` seconds."""

    name: str
    step: int
    span: int

    @property
    def buckets(self) -> int:
        """How many buckets the span holds."""
        return self.span // self.step

    def start_of(self, at: float) -> int:
        """The start of the bucket `at` falls in."""
        return int(math.floor(at / self.step) * self.step)

    def first(self, now: float) -> int:
        """The oldest bucket start a series read at `now` shows."""
        return self.start_of(now - self.span) + self.step


# The sparkline: the last 15 minutes in 30-second steps; the graphs: 24 hours in 5 minutes.
SPARK = Series("30s", 30, 15 * 60)
GRAPH = Series("5m", 5 * 60, 24 * 3600)
SERIES = (SPARK, GRAPH)
# Kept for the tests and the docstring's arithmetic.
BUCKET_SECONDS = GRAPH.step
GRAPH_BUCKETS = GRAPH.buckets

# The figures that are averaged into series (the numbers; the client's candidate type and
# limitation are kept in raw samples only).
FIGURES: tuple[str, ...] = tuple(
    f.name for f in fields(LinkSample) if f.name not in ("quality_limitation", "candidate_type")
)
_FIELDS = tuple(f.name for f in fields(LinkSample))
_INTEGERS = frozenset({"keyframe_requests", "sent_width", "sent_height"})
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

    async def sparklines(
        self, office_ids: Iterable[int], now: float
    ) -> dict[int, list[SeriesPoint]]:
        """Many offices' sparklines at once (one Redis round trip): the board's snapshot."""

    async def graph(self, office_id: int, now: float) -> list[SeriesPoint]:
        """The last 24 hours in 5-minute steps (steps without a sample left out)."""

    async def close(self) -> None:
        """Release the connection, if any."""


def _means(sums: Sequence[float], counts: Sequence[float]) -> dict[str, float | None]:
    return {
        name: round(sums[i] / counts[i], 2) if counts[i] else None for i, name in enumerate(FIGURES)
    }


# -- memory ---------------------------------------------------------------------------------

# A raw row: every figure, then the candidate type and the limitation as their index.
_RAW_STRIDE = len(FIGURES) + 2
# A bucket row: n, then per figure its sum and its count.
_BUCKET_STRIDE = 1 + 2 * len(FIGURES)


class _Buckets:
    """One series of one office: bucket starts, and their rows in one flat array."""

    __slots__ = ("rows", "starts")

    def __init__(self) -> None:
        self.starts = array("q")
        self.rows = array("f")

    def add(self, series: Series, start: int, sample: LinkSample) -> None:
        starts = self.starts
        if not starts or starts[-1] < start:
            starts.append(start)
            self.rows.extend([0.0] * _BUCKET_STRIDE)
            if len(starts) > series.buckets + 1:
                del starts[0]
                del self.rows[:_BUCKET_STRIDE]
        # Samples arrive in order, or a bucket late at most (a client's figures); older ones
        # than the buckets kept are dropped.
        index = next((i for i in range(len(starts) - 1, -1, -1) if starts[i] == start), None)
        if index is None:
            return
        base = index * _BUCKET_STRIDE
        rows = self.rows
        rows[base] += 1
        for j, name in enumerate(FIGURES):
            value = getattr(sample, name)
            if value is not None:
                rows[base + 1 + 2 * j] += float(value)
                rows[base + 2 + 2 * j] += 1

    def points(self, series: Series, now: float) -> list[SeriesPoint]:
        first = series.first(now)
        out = []
        for index, start in enumerate(self.starts):
            if first <= start <= now:
                row = self.rows[index * _BUCKET_STRIDE : (index + 1) * _BUCKET_STRIDE]
                out.append(SeriesPoint(float(start), int(row[0]), _means(row[1::2], row[2::2])))
        return out


class _OfficeRing:
    """One office's raw ring (times apart, figures as 32-bit floats, NaN for none) and its
    series' buckets."""

    __slots__ = ("graph", "last", "rows", "spark", "times")

    def __init__(self) -> None:
        self.times = array("d")
        self.rows = array("f")
        self.spark = _Buckets()
        self.graph = _Buckets()
        self.last = 0.0


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


class MemoryLinkHistory:
    """One process's history (no Redis): bounded per office, see the module's docstring."""

    def __init__(self) -> None:
        self._offices: dict[int, _OfficeRing] = {}
        self._swept_at = 0.0

    async def add(self, office_id: int, sample: LinkSample, at: float) -> None:
        """Append to the office's ring and add into its buckets; trim by age and count."""
        ring = self._offices.setdefault(office_id, _OfficeRing())
        ring.times.append(at)
        ring.rows.extend(_encode(sample))
        ring.last = max(ring.last, at)
        self._trim(ring)
        ring.spark.add(SPARK, SPARK.start_of(at), sample)
        ring.graph.add(GRAPH, GRAPH.start_of(at), sample)
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

    def _forget_silent(self, now: float) -> None:
        """Offices with nothing for a day take no memory (checked once an hour at most)."""
        for office_id in [o for o, r in self._offices.items() if r.last < now - GRAPH.span]:
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
        ring = self._offices.get(office_id)
        return ring.spark.points(SPARK, now) if ring is not None else []

    async def sparklines(
        self, office_ids: Iterable[int], now: float
    ) -> dict[int, list[SeriesPoint]]:
        """Many offices' sparklines."""
        return {office_id: await self.sparkline(office_id, now) for office_id in office_ids}

    async def graph(self, office_id: int, now: float) -> list[SeriesPoint]:
        """The last 24 hours in 5-minute steps."""
        ring = self._offices.get(office_id)
        return ring.graph.points(GRAPH, now) if ring is not None else []

    async def close(self) -> None:
        """Nothing to release."""


# -- Redis ----------------------------------------------------------------------------------

PREFIX = "tcd:link:"


def _raw_key(office_id: int) -> str:
    return f"{PREFIX}{office_id}:raw"


def _series_key(office_id: int, series: Series) -> str:
    return f"{PREFIX}{office_id}:{series.name}"


def _member(at: float, sample: LinkSample) -> str:
    """A raw member: "<at> <v>,<v>,..." with every field of LinkSample in order, empty for None
    (a third of the size of JSON with names, and unique by its time)."""
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


# One call per sample, atomic: the raw sample with its trimming, then for each series the
# sample added into its bucket, a field of the office's series hash whose value is
# "n,sum,count,sum,count,..." (FIGURES in order). A new bucket drops the fields its series no
# longer shows, so a hash holds a series' buckets plus one at most; it expires when the office
# stops sending. KEYS: raw, spark hash, graph hash. ARGV: at, member, raw seconds, raw limit,
# the figures as "v,v,..." ('' for none), then step and span of each series.
_ADD = """
local at = tonumber(ARGV[1])
redis.call('ZADD', KEYS[1], at, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (at - tonumber(ARGV[3])))
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[4]) + 1))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
local values = {}
for v in string.gmatch(ARGV[5] .. ',', '([^,]*),') do values[#values + 1] = v end
for s = 0, 1 do
    local key = KEYS[2 + s]
    local step, span = tonumber(ARGV[6 + 2 * s]), tonumber(ARGV[7 + 2 * s])
    local start = math.floor(at / step) * step
    local field = string.format('%d', start)
    local old = redis.call('HGET', key, field)
    local row = {}
    if old then
        for v in string.gmatch(old .. ',', '([^,]*),') do row[#row + 1] = tonumber(v) end
    else
        row[1] = 0
        for i = 1, #values do row[2 * i], row[2 * i + 1] = 0, 0 end
        local first = math.floor((at - span) / step) * step + step
        for _, f in ipairs(redis.call('HKEYS', key)) do
            if tonumber(f) < first then redis.call('HDEL', key, f) end
        end
    end
    row[1] = row[1] + 1
    for i = 1, #values do
        if values[i] ~= '' then
            row[2 * i] = row[2 * i] + tonumber(values[i])
            row[2 * i + 1] = row[2 * i + 1] + 1
        end
    end
    redis.call('HSET', key, field, table.concat(row, ','))
    redis.call('EXPIRE', key, span + step)
end
"""


def _points(series: Series, found: dict[bytes, bytes], now: float) -> list[SeriesPoint]:
    first = series.first(now)
    out = []
    for field, value in found.items():
        start = int(field)
        if first <= start <= now:
            row = [float(v) for v in value.split(b",")]
            out.append(SeriesPoint(float(start), int(row[0]), _means(row[1::2], row[2::2])))
    out.sort(key=lambda p: p.at)
    return out


class RedisLinkHistory:
    """Every node's samples in one Redis. Keys under `tcd:link:<office id>:`: `raw`, a sorted
    set scored by time whose members are "<at> <figures>" (trimmed by age and count on every
    add), and `30s` and `5m`, a hash per series of bucket start -> "n,sum,count,..." (see
    _ADD); all three expire when the office stops sending."""

    def __init__(self, url: str) -> None:
        # Imported here: a hub without Redis never loads the Redis client.
        import redis.asyncio as redis_asyncio

        self._redis: Any = redis_asyncio.Redis.from_url(url)
        self._add = self._redis.register_script(_ADD)

    async def add(self, office_id: int, sample: LinkSample, at: float) -> None:
        """One script call: the raw sample, its trimming, and both series' buckets."""
        figures = ",".join(
            "" if (v := getattr(sample, name)) is None else repr(float(v)) for name in FIGURES
        )
        keys = [_raw_key(office_id), *(_series_key(office_id, s) for s in SERIES)]
        args: list[Any] = [repr(at), _member(at, sample), RAW_SECONDS, RAW_LIMIT, figures]
        for series in SERIES:
            args += [series.step, series.span]
        await self._add(keys=keys, args=args)

    async def since(self, office_id: int, t: float) -> list[tuple[float, LinkSample]]:
        """Raw samples from `t` on, oldest first."""
        members = await self._redis.zrangebyscore(_raw_key(office_id), repr(t), "+inf")
        return [_parse_member(m.decode()) for m in members]

    async def _series(
        self, office_ids: Sequence[int], series: Series, now: float
    ) -> dict[int, list[SeriesPoint]]:
        pipe = self._redis.pipeline(transaction=False)
        for office_id in office_ids:
            pipe.hgetall(_series_key(office_id, series))
        found = await pipe.execute()
        return {o: _points(series, f, now) for o, f in zip(office_ids, found, strict=True)}

    async def sparkline(self, office_id: int, now: float) -> list[SeriesPoint]:
        """The last 15 minutes in 30-second steps: one hash read."""
        return (await self._series([office_id], SPARK, now))[office_id]

    async def sparklines(
        self, office_ids: Iterable[int], now: float
    ) -> dict[int, list[SeriesPoint]]:
        """Many offices' sparklines in one round trip."""
        return await self._series(list(office_ids), SPARK, now)

    async def graph(self, office_id: int, now: float) -> list[SeriesPoint]:
        """The last 24 hours in 5-minute steps: one hash read."""
        return (await self._series([office_id], GRAPH, now))[office_id]

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()


def open_link_history(settings: Settings) -> LinkHistory:
    """RedisLinkHistory when settings name a Redis, MemoryLinkHistory otherwise."""
    if settings.redis_url:
        return RedisLinkHistory(settings.redis_url)
    return MemoryLinkHistory()

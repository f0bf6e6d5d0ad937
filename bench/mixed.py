"""`tcd-hub bench mixed`: a live hearing's frame rate while the records side takes a storm.

One register of N petitions (bench.register) is served by the real `tcd-hub serve` in a process
of its own, twice: with one media worker process (the room forwards there) and with
`--media-workers 0` (the room forwards on the loop that serves HTTP). Each time a hearing is
scheduled and started over the JSON API, its sites join as site agents publishing pre-encoded
VP8 at 30 fps (bench.sfu's agents process), and once media flows between all of them the API
takes a storm: S simultaneous sign-ins and S simultaneous petition searches (bench.api's
searches, by accounts signed in beforehand). The agents' frame counts are sampled throughout:

- baseline_fps: the lowest per-subscription frame rate over the quiet seconds before the storm;
- min_fps: the lowest per-subscription frame rate in any 1 s window from the storm's start to
  one second after its last answer (a stalled loop shows up just after the load, too);
- frame_share: over that same span, the lowest share of a sender's frames a receiver got.

A subscription is one (receiver, sender) pair. The sign-in limits per account and per address
are lifted for the hub under test (the storm comes from one address and a few demo accounts, a
real one from hundreds of offices); the password-check pool keeps its defaults, so some of the
sign-ins may be answered 503 at once by design: the statuses are reported.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

import aiohttp
from sqlalchemy import select

from bench.api import PASSWORD, SEARCHES
from bench.common import Child, fresh_database, machine_load, percentile
from bench.register import seed_petitions
from hub.config import Settings
from hub.storage.db import Database
from hub.storage.tables import UserRow

START_TIMEOUT = 60.0
FLOW_TIMEOUT = 30.0
SAMPLE_INTERVAL = 0.2
WINDOW = 1.0
# Frames every subscription must have received before the baseline starts.
FLOWING_FRAMES = 30
VN = timezone(timedelta(hours=7))
# bench.api's searches, less those with placeholders its plans fill in (dates, offices).
STORM_SEARCHES = [s for s in SEARCHES if not any("{" in value for value in s.values())]


def add_bench_mixed_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `tcd-hub bench mixed`."""
    parser.add_argument("--sites", type=int, default=6, help="sites in the hearing (chair's too)")
    parser.add_argument("--petitions", type=int, default=200_000, help="petitions in the register")
    parser.add_argument(
        "--storm", type=int, default=200, help="simultaneous sign-ins, and as many searches"
    )
    parser.add_argument("--baseline-seconds", type=float, default=5.0, help="quiet seconds first")
    parser.add_argument("--json", action="store_true", help="print JSON on one line")


@dataclass(frozen=True)
class _Register:
    data_dir: Path
    secret_key: str
    usernames: tuple[str, ...]


@dataclass(frozen=True)
class _Sample:
    at: float
    snap: dict[str, Any]


async def _prepare(data_dir: Path, petitions: int) -> _Register:
    """A fresh database with the demo data and `petitions` petitions; the accounts' names."""
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    settings = Settings(data_dir=data_dir)
    await fresh_database(settings, PASSWORD)
    await seed_petitions(settings, petitions)
    db = Database.from_settings(settings)
    try:
        async with db.transaction() as session:
            names = (await session.execute(select(UserRow.username))).scalars().all()
    finally:
        await db.close()
    return _Register(data_dir, os.urandom(24).hex(), tuple(sorted(names)))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _serve(register: _Register, media_workers: int, log: IO[bytes]) -> Iterator[str]:
    """`tcd-hub serve` on the register with `media_workers` workers; its base URL."""
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("TCD_")}
    env.update(
        TCD_DATA_DIR=str(register.data_dir),
        TCD_PORT=str(port),
        TCD_SECRET_KEY=register.secret_key,
        TCD_ICE_ANNOUNCED_IPS="127.0.0.1",
        TCD_LOG_LEVEL="WARNING",
        TCD_MEDIA_WORKERS=str(media_workers),
        TCD_LOGIN_ATTEMPTS_PER_MINUTE="100000",
        TCD_LOGIN_ATTEMPTS_PER_MINUTE_PER_ADDRESS="100000",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "serve"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"tcd-hub serve exited ({proc.returncode}); see {log.name}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"tcd-hub serve did not listen in {START_TIMEOUT} s")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _Api:
    """The JSON API with bearer tokens (no cookie jar: no CSRF, no session mixing)."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base

    async def call(self, token: str | None, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.request(method, self.base + path, json=body, headers=headers) as resp:
            payload = await resp.json()
            if resp.status >= 300:
                raise RuntimeError(f"{method} {path}: {resp.status} {payload}")
            return payload

    async def login(self, username: str) -> dict[str, Any]:
        body = {"username": username, "password": PASSWORD}
        return dict(await self.call(None, "POST", "/api/v1/auth/login", body))


async def _hearing_tokens(api: _Api, sites: int, tokens_file: Path) -> int:
    """A live hearing of the central office with `sites` seats (the chair's first); writes the
    join tokens to tokens_file; the hearing's id."""
    staff = await api.login("staff")
    leader = await api.login("leader")
    offices = (await api.call(staff["token"], "GET", "/api/v1/offices"))["items"]
    home = staff["user"]["office_id"]
    bridges = [o["id"] for o in offices if o["has_bridge_point"] and o["id"] != home]
    # More sites than bridge points: several seats per office.
    seats = [bridges[i % len(bridges)] for i in range(max(0, sites - 1))]
    starts = datetime.now(VN).replace(microsecond=0)
    hearing = await api.call(
        staff["token"],
        "POST",
        "/api/v1/hearings",
        {
            "title": "Mixed benchmark",
            "kind": "adhoc",
            "host_office_id": home,
            "site_office_ids": sorted(set(seats)),
            "chair_user_id": leader["user"]["id"],
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
        },
    )
    hearing_id = int(hearing["id"])
    await api.call(staff["token"], "POST", f"/api/v1/hearings/{hearing_id}/start")
    path = f"/api/v1/hearings/{hearing_id}/join-token"
    tokens = [(await api.call(leader["token"], "POST", path, {"office_id": None}))["token"]]
    for office in seats:
        tokens.append(
            (await api.call(staff["token"], "POST", path, {"office_id": office}))["token"]
        )
    await asyncio.to_thread(tokens_file.write_text, json.dumps(tokens), encoding="utf-8")
    return hearing_id


def _pairs(snap: dict[str, Any]) -> dict[tuple[str, str], int]:
    """(receiver, sender) -> video frames received so far."""
    return {
        (receiver, sender): int(count)
        for receiver, received in snap["received"].items()
        for sender, count in received.items()
        if sender != receiver and sender in snap["sent"]
    }


def _flowing(snap: dict[str, Any], sites: int) -> bool:
    counts = _pairs(snap)
    return len(counts) == sites * (sites - 1) and min(counts.values()) >= FLOWING_FRAMES


def _rate(first: _Sample, last: _Sample) -> float:
    """The lowest per-subscription frame rate between two samples."""
    before, after = _pairs(first.snap), _pairs(last.snap)
    return min((after[p] - before.get(p, 0) for p in after), default=0) / (last.at - first.at)


def _min_window_rate(samples: list[_Sample]) -> float:
    """The lowest per-subscription frame rate over any WINDOW-long stretch of the samples."""
    rates = []
    for i, first in enumerate(samples):
        last = next((s for s in samples[i + 1 :] if s.at - first.at >= WINDOW), None)
        if last is None:
            break
        rates.append(_rate(first, last))
    return min(rates) if rates else _rate(samples[0], samples[-1])


def _frame_share(first: _Sample, last: _Sample) -> float:
    """The lowest share of a sender's frames one receiver got between two samples."""
    before, after = _pairs(first.snap), _pairs(last.snap)
    shares = []
    for (receiver, sender), count in after.items():
        sent = last.snap["sent"][sender] - first.snap["sent"].get(sender, 0)
        if sent > 0:
            shares.append(min(1.0, (count - before.get((receiver, sender), 0)) / sent))
    return min(shares) if shares else 0.0


class _Sampler:
    """Asks the agents for their counts every SAMPLE_INTERVAL on a thread of its own, so the
    storm's client loop cannot delay the samples."""

    def __init__(self, agents: Child) -> None:
        self._agents = agents
        self._stop = threading.Event()
        self.samples: list[_Sample] = []
        self._thread = threading.Thread(target=self._run, name="bench-mixed-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            snap = self._agents.ask("snap")
            self.samples.append(_Sample(time.monotonic(), snap))
            self._stop.wait(SAMPLE_INTERVAL)

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def between(self, start: float, end: float) -> list[_Sample]:
        """The samples from the last one at or before start to the first at or after end."""
        samples = list(self.samples)
        first = max((i for i, s in enumerate(samples) if s.at <= start), default=0)
        last = next((i for i, s in enumerate(samples) if s.at >= end), len(samples) - 1)
        return samples[first : last + 1]


@dataclass
class _Answers:
    wall_ms: list[float]
    statuses: dict[str, int]
    errors: list[str]


async def _timed(
    http: aiohttp.ClientSession, method: str, url: str, answers: _Answers, **kwargs: Any
) -> None:
    start = time.perf_counter()
    try:
        async with http.request(method, url, **kwargs) as resp:
            await resp.read()
    except (aiohttp.ClientError, TimeoutError) as error:
        answers.errors.append(f"{method} {url}: {error!r}")
        return
    answers.wall_ms.append((time.perf_counter() - start) * 1000)
    answers.statuses[str(resp.status)] = answers.statuses.get(str(resp.status), 0) + 1


async def _storm(base: str, register: _Register, size: int, tokens: list[str]) -> _Answers:
    """`size` sign-ins and `size` searches sent at once, each on its own connection."""
    answers = _Answers([], {}, [])
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar()
    ) as http:
        calls = []
        for n in range(size):
            username = register.usernames[n % len(register.usernames)]
            body = {"username": username, "password": PASSWORD}
            calls.append(_timed(http, "POST", f"{base}/api/v1/auth/login", answers, json=body))
            query = urlencode({**STORM_SEARCHES[n % len(STORM_SEARCHES)], "limit": "50"})
            headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
            url = f"{base}/api/v1/petitions?{query}"
            calls.append(_timed(http, "GET", url, answers, headers=headers))
        await asyncio.gather(*calls)
    return answers


async def _run_once(
    register: _Register, args: argparse.Namespace, media_workers: int, workdir: Path
) -> dict[str, Any]:
    log_path = workdir / f"hub-workers-{media_workers}.log"
    with log_path.open("wb") as log, _serve(register, media_workers, log) as base:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            api = _Api(http, base)
            tokens_file = workdir / f"tokens-{media_workers}.json"
            hearing_id = await _hearing_tokens(api, args.sites, tokens_file)
            # The searchers sign in before the storm (two accounts of different scopes).
            searchers = [(await api.login(u))["token"] for u in ("staff", "staff.hungyen")]
        agents = Child(
            "bench.sfu",
            [
                *("--agents", "--hub", base, "--hearing", str(hearing_id)),
                *("--tokens-file", str(tokens_file)),
                "--chair",  # one process with every site, the chair's seat first
            ],
        )
        try:
            await asyncio.to_thread(agents.read)  # every site joined and admitted
            deadline = time.monotonic() + FLOW_TIMEOUT
            while not _flowing(await asyncio.to_thread(agents.ask, "snap"), args.sites):
                if time.monotonic() > deadline:
                    raise RuntimeError("media did not flow between all sites")
                await asyncio.sleep(0.5)
            with _Sampler(agents) as sampler:
                quiet = time.monotonic()
                await asyncio.sleep(args.baseline_seconds)
                load_before = machine_load()
                storm_start = time.monotonic()
                answers = await _storm(base, register, args.storm, searchers)
                storm_end = time.monotonic()
                await asyncio.sleep(WINDOW + SAMPLE_INTERVAL)
            baseline = sampler.between(quiet, storm_start)
            during = sampler.between(storm_start, storm_end + WINDOW)
        finally:
            await asyncio.to_thread(agents.stop)
    wall = sorted(answers.wall_ms)
    return {
        "media": {
            "baseline_fps": round(_rate(baseline[0], baseline[-1]), 2),
            "min_fps": round(_min_window_rate(during), 2),
            "frame_share": round(_frame_share(during[0], during[-1]), 4),
            "subscriptions": args.sites * (args.sites - 1),
        },
        "api": {
            "p95_ms": round(percentile(wall, 0.95), 2) if wall else None,
            "max_ms": round(wall[-1], 2) if wall else None,
            "requests": 2 * args.storm,
            "answered": len(wall),
            "statuses": answers.statuses,
            "errors": answers.errors[:5],
            "storm_seconds": round(storm_end - storm_start, 2),
        },
        "media_workers": media_workers,
        "load_average_1min": [load_before, machine_load()],
    }


async def run_bench_mixed(args: argparse.Namespace) -> dict[str, Any]:
    """Seed once, then measure on a media worker and in-process; the figures as a dict."""
    if args.sites < 2:
        raise ValueError("--sites: a hearing needs at least 2 sites to forward anything")
    with tempfile.TemporaryDirectory(prefix="tcd-bench-mixed-") as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        register = await _prepare(workdir / "data", args.petitions)
        seed_seconds = time.perf_counter() - started
        on_worker = await _run_once(register, args, 1, workdir)
        in_process = await _run_once(register, args, 0, workdir)
    return {
        **on_worker,
        "in_process": in_process,
        "sites": args.sites,
        "petitions": args.petitions,
        "seed_seconds": round(seed_seconds, 2),
        "cpus": os.cpu_count(),
    }


def cmd_bench_mixed(args: argparse.Namespace) -> int:
    """`tcd-hub bench mixed`: run the benchmark and print its JSON."""
    result = asyncio.run(run_bench_mixed(args))
    print(json.dumps(result, indent=None if args.json else 2, ensure_ascii=False))
    return 0

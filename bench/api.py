"""`tcd-hub bench api`: petition list, search and detail latency over HTTP, on a seeded SQLite
or on PostgreSQL, with one client or many at once."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from sqlalchemy import select

from bench.common import Child, cpu_seconds, fresh_database, machine_load, percentile, serve_app
from bench.register import SEED, Office, seed_petitions
from hub.config import Settings
from hub.storage.db import Database
from hub.storage.migrate import upgrade
from hub.storage.tables import OfficeRow

WARMUP = 5
PASSWORD = "bench"
KINDS = ("list", "search", "detail")

# The list requests cycle through these, at offsets in the first eight pages, as a central and a
# province user: no filter, single filters, combinations, a rare combination, date ranges and an
# office (a district or commune within the user's scope). {dN} is N days ago.
LIST_FILTERS: list[dict[str, str]] = [
    {},
    {},
    {"type": "complaint"},
    {"status": "accepted"},
    {"crowd": "true"},
    {"type": "denunciation", "status": "received", "crowd": "false"},
    {"status": "suspended", "crowd": "true"},
    {"received_from": "{d90}", "received_to": "{d0}"},
    {"type": "feedback", "received_from": "{d365}", "received_to": "{d180}"},
    {"office": "{office}"},
    {"office": "{office}", "status": "resolved"},
    {"office": "{office}", "type": "recommendation", "received_from": "{d365}"},
]
# The searches: common words with and without diacritics, rare names, a case code, a word still
# being typed (one or two letters: the costliest prefixes) and text with filters. Names and
# places are the petitioner's personal data: those searches say personal=true (and are audited).
SEARCHES: list[dict[str, str]] = [
    {"text": "đất"},
    {"text": "dat dai"},
    {"text": "Nguyễn", "personal": "true"},
    {"text": "nguyen van", "personal": "true"},
    {"text": "thu hồi đất"},
    {"text": "boi thuong"},
    {"text": "khúc"},
    {"text": "HY-2025-000123"},
    {"text": "âu dương", "personal": "true"},
    {"text": "nhũng nhiễu"},
    {"text": "ng"},
    {"text": "tái đ"},
    {"text": "bảo hiểm", "type": "complaint"},
    {"text": "ô nhiễm", "crowd": "true"},
    {"text": "giám đốc thẩm", "received_from": "{d365}"},
    {"text": "Đình Dù", "personal": "true"},
    {"text": "thanh"},
]


CPU_HEADER = "X-Bench-Server-Cpu-Ms"
# Failed requests quoted in the result (all are counted).
QUOTED_ERRORS = 5


@dataclass(frozen=True)
class Timing:
    """One timed request: wall time at the client, CPU time the server spent on it (when it
    served one request at a time), and the error if the answer was not 200."""

    kind: str
    wall_ms: float
    server_cpu_ms: float
    request: str
    error: str | None = None


def _summary(timings: list[Timing], seconds: float, *, sequential: bool) -> dict[str, Any]:
    done = [t for t in timings if t.error is None]
    wall = sorted(t.wall_ms for t in done) or [float("nan")]
    out: dict[str, Any] = {
        "p50_ms": round(percentile(wall, 0.50), 2),
        "p95_ms": round(percentile(wall, 0.95), 2),
        "p99_ms": round(percentile(wall, 0.99), 2),
        "max_ms": round(wall[-1], 2),
        "requests": len(timings),
        "failed": len(timings) - len(done),
        # This kind's answers per second while all kinds ran together.
        "throughput_rps": round(len(done) / seconds, 1),
        "slowest": max(done, key=lambda t: t.wall_ms).request if done else None,
    }
    if sequential and done:
        # CPU the server process spent per request: unlike wall time, other programs on the
        # machine barely move it, so it tells a slow query from a busy machine. Only with one
        # request at a time does the process's clock measure one request.
        cpu = sorted(t.server_cpu_ms for t in done)
        out.update(
            server_cpu_p50_ms=round(percentile(cpu, 0.50), 2),
            server_cpu_p95_ms=round(percentile(cpu, 0.95), 2),
            most_cpu=max(done, key=lambda t: t.server_cpu_ms).request,
        )
    return out


class Client:
    """Signed-in GETs against the hub, timed; the users' tokens are shared by every client."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base
        self.tokens: dict[str, str] = {}

    async def login(self, username: str) -> None:
        """Sign in as `username` with the bench password."""
        async with self.http.post(
            f"{self.base}/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        ) as resp:
            body = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"sign-in as {username} failed: {body}")
            self.tokens[username] = body["token"]

    async def get(self, kind: str, username: str, path: str) -> Timing:
        """GET `path` as `username`, timed; any answer but 200 is an error, counted."""
        headers = {"Authorization": f"Bearer {self.tokens[username]}"}
        request = f"{username} {path}"
        start = time.perf_counter()
        try:
            async with self.http.get(f"{self.base}{path}", headers=headers) as resp:
                raw = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            elapsed = (time.perf_counter() - start) * 1000
            return Timing(kind, elapsed, float("nan"), request, f"{request}: {exc!r}")
        elapsed = (time.perf_counter() - start) * 1000
        error = None if resp.status == 200 else f"{request}: {resp.status} {raw[:300]!r}"
        return Timing(kind, elapsed, float(resp.headers.get(CPU_HEADER, "nan")), request, error)


Plan = list[tuple[str, str, str]]


def _fill(params: dict[str, str], today: date, office: int) -> dict[str, str]:
    days = {f"{{d{d}}}": (today - timedelta(days=d)).isoformat() for d in (0, 90, 180, 365)}
    days["{office}"] = str(office)
    return {k: days.get(v, v) for k, v in params.items()}


def _plan(
    rng: random.Random, requests: int, by_path: dict[str, list[int]], offices: list[Office]
) -> Plan:
    """`requests` of each kind, interleaved list, search, detail: (kind, user, path)."""
    today = date.today()
    central = next(o for o in offices if o.level == "central")
    hy = next(o for o in offices if o.code == "HY")
    users = [("staff", central), ("staff.hungyen", hy)]
    below = {u: [o for o in offices if o.path.startswith(scope.path)] for u, scope in users}
    ids = {
        u: [i for p, ids in by_path.items() if p.startswith(s.path) for i in ids] for u, s in users
    }
    plan: Plan = []
    for n in range(requests):
        username = users[n % 2][0]
        office = rng.choice(below[username]).id
        params = _fill(LIST_FILTERS[n % len(LIST_FILTERS)], today, office)
        params.update(limit="50", offset=str(50 * rng.randrange(0, 8)))
        plan.append(("list", username, f"/api/v1/petitions?{urlencode(params)}"))
        params = _fill(SEARCHES[n % len(SEARCHES)], today, office)
        params.update(limit="50", offset=str(50 * rng.choice((0, 0, 0, 1, 2))))
        plan.append(("search", username, f"/api/v1/petitions?{urlencode(params)}"))
        plan.append(("detail", username, f"/api/v1/petitions/{rng.choice(ids[username])}"))
    return plan


async def _run(
    client: Client, plan: Plan, concurrency: int, think_ms: float = 0.0
) -> tuple[list[Timing], float]:
    """Every request of the plan, sent by `concurrency` users at once: each sends its next
    request once its last is answered and it has looked at it for a while (exponentially
    distributed, think_ms on average; 0: at once). The timings and the seconds it took."""
    shared: Iterator[tuple[str, str, str]] = iter(plan)

    async def one_user(n: int) -> list[Timing]:
        rng = random.Random(SEED + 100 + n)
        timings = []
        # One iterator for all: each request is taken by exactly one user.
        for kind, user, path in shared:
            if think_ms:
                # Before the first request too, so the users do not all start at once.
                await asyncio.sleep(rng.expovariate(1000.0 / think_ms))
            timings.append(await client.get(kind, user, path))
        return timings

    start = time.perf_counter()
    runs = await asyncio.gather(*(one_user(n) for n in range(concurrency)))
    return [t for run in runs for t in run], time.perf_counter() - start


async def _offices(settings: Settings) -> list[Office]:
    db = Database.from_settings(settings)
    try:
        async with db.transaction() as session:
            return [
                Office(o.id, o.code, o.level, o.path)
                for o in (await session.execute(select(OfficeRow))).scalars()
            ]
    finally:
        await db.close()


@dataclass(frozen=True)
class Options:
    """What `tcd-hub bench api` was asked for."""

    petitions: int
    requests: int
    concurrency: int = 1
    think_ms: float = 0.0
    database_url: str = ""
    keep_database: bool = False
    reuse_database: str = ""
    statements: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        """The options of the command line (see hub.cli)."""
        options = cls(
            petitions=int(args.petitions),
            requests=max(1, int(args.requests)),
            concurrency=max(1, int(args.concurrency)),
            think_ms=max(0.0, float(args.think_ms)),
            database_url=args.database_url or "",
            keep_database=bool(args.keep_database),
            reuse_database=args.reuse_database or "",
            statements=bool(args.statements),
        )
        if (options.keep_database or options.reuse_database) and not options.database_url:
            raise ValueError("--keep-database and --reuse-database need --database-url")
        return options


async def run_bench_api(args: argparse.Namespace) -> dict[str, Any]:
    """Seed a fresh register (SQLite, or a scratch PostgreSQL database), serve it in a process
    of its own, and time list/search/detail as a central and a provincial user."""
    options = Options.from_args(args)
    with tempfile.TemporaryDirectory(prefix="tcd-bench-") as tmp:
        if not options.database_url:
            return await _bench(options, Settings(data_dir=Path(tmp)), "sqlite")
        from bench import postgres

        db = postgres.scratch(options.database_url, options.reuse_database or None)
        settings = Settings(data_dir=Path(tmp), database_url=db.url)
        if not options.reuse_database:
            await db.create()
        try:
            result = await _bench(options, settings, "postgresql")
            result["postgresql"] = await postgres.server_facts(db.url)
        finally:
            # A reused database was kept by an earlier run for more runs: it stays.
            if not (options.keep_database or options.reuse_database):
                await db.drop()
        if options.keep_database or options.reuse_database:
            result["kept_database"] = db.name
        return result


async def _seed(
    options: Options, settings: Settings, steps: dict[str, float]
) -> tuple[int, dict[str, list[int]]]:
    """The register to time: (petitions, ids by office path); `steps` gets the load's steps."""
    if options.reuse_database:
        from bench.postgres import petitions_by_path

        # Migrations newer than the kept database run on its rows, as they would in production.
        await upgrade(settings)
        by_path = await petitions_by_path(settings.database_url)
        return sum(len(ids) for ids in by_path.values()), by_path
    await fresh_database(settings, PASSWORD)
    if settings.database_url:
        from bench.postgres import copy_petitions

        loaded = await copy_petitions(settings.database_url, options.petitions)
        steps.update(loaded.seconds)
        return options.petitions, loaded.by_path
    return options.petitions, await seed_petitions(settings, options.petitions)


async def _bench(options: Options, settings: Settings, database: str) -> dict[str, Any]:
    started = time.perf_counter()
    steps: dict[str, float] = {}
    count, by_path = await _seed(options, settings, steps)
    seed_seconds = time.perf_counter() - started
    plan = _plan(random.Random(SEED + 1), options.requests, by_path, await _offices(settings))
    del by_path
    load_before = machine_load()
    # The hub runs in a process of its own, so its CPU clock measures the server alone.
    hub = Child(
        "bench.api",
        [
            "--serve",
            str(settings.data_dir),
            settings.database_url,
            *(["--statements"] if options.statements else []),
        ],
    )
    try:
        port = int((await asyncio.to_thread(hub.read))["port"])
        connector = aiohttp.TCPConnector(limit=options.concurrency)
        async with aiohttp.ClientSession(connector=connector) as http:
            client = Client(http, f"http://127.0.0.1:{port}")
            for username in ("staff", "staff.hungyen"):
                await client.login(username)
            # Warm-up: connections opened, caches and pools filled; not counted.
            await _run(
                client, plan[: max(WARMUP * len(KINDS), options.concurrency)], options.concurrency
            )
            if options.statements:
                await asyncio.to_thread(hub.ask, "statements")  # the warm-up's, dropped
            database_before = await _database_cpu(settings.database_url)
            cpu_before = cpu_seconds(hub.pid)
            client_before = time.process_time()
            timings, seconds = await _run(client, plan, options.concurrency, options.think_ms)
            client_cpu = time.process_time() - client_before
            hub_cpu = cpu_seconds(hub.pid) - cpu_before
            database_cpu = _cpu_spent(database_before, await _database_cpu(settings.database_url))
            statements = (
                await asyncio.to_thread(hub.ask, "statements") if options.statements else None
            )
    finally:
        await asyncio.to_thread(hub.stop)
    sequential = options.concurrency == 1
    failed = [t.error for t in timings if t.error is not None]
    return {
        "petitions": count,
        "seed_seconds": round(seed_seconds, 2),
        **({"seed_steps_seconds": steps} if steps else {}),
        "reused_database": bool(options.reuse_database),
        "concurrency": options.concurrency,
        "think_ms": options.think_ms,
        **{
            kind: _summary([t for t in timings if t.kind == kind], seconds, sequential=sequential)
            for kind in KINDS
        },
        "requests": len(timings),
        "failed": len(failed),
        "errors": failed[:QUOTED_ERRORS],
        "seconds": round(seconds, 2),
        "throughput_rps": round((len(timings) - len(failed)) / seconds, 1),
        # The hub process's CPU per answered request (the database server's is not in it).
        "hub_cpu_ms_per_request": round(1000 * hub_cpu / max(1, len(timings)), 2),
        # The database server's, when it runs here (its processes serving the hub's
        # connections), and the load generator's own: on two cores all three share them.
        **(
            {
                "database_cpu_ms_per_request": round(
                    1000 * database_cpu[0] / max(1, len(timings)), 2
                ),
                "database_processes_ended": database_cpu[1],
            }
            if database_cpu is not None
            else {}
        ),
        "client_cpu_ms_per_request": round(1000 * client_cpu / max(1, len(timings)), 2),
        **({"statements": statements} if statements is not None else {}),
        "server": "subprocess",
        "database": database,
        **({"sqlite_version": sqlite3.sqlite_version} if database == "sqlite" else {}),
        "warmup_requests": max(WARMUP * len(KINDS), options.concurrency),
        # Other work on the machine shows up in wall times; this says how much there was.
        "load_average_1min": [load_before, machine_load()],
        "cpus": os.cpu_count(),
    }


async def _database_cpu(database_url: str) -> dict[int, float] | None:
    """CPU seconds so far of each server process connected to the bench's PostgreSQL database,
    when the server runs on this machine; None for SQLite (in the hub's process) or a server
    elsewhere."""
    if not database_url:
        return None
    from bench.postgres import backend_pids

    pids = await backend_pids(database_url)
    try:
        return {pid: cpu_seconds(pid) for pid in pids} if pids else None
    except OSError:
        # Not a process of this machine: the server runs elsewhere (or one just ended).
        return None


def _cpu_spent(
    before: dict[int, float] | None, after: dict[int, float] | None
) -> tuple[float, int] | None:
    """CPU the database's processes spent between two readings (a process that began in
    between counts from zero), and how many ended in between: their CPU is not in the figure,
    which is then too low (the hub's pool closes connections beyond its size as they come
    back)."""
    if before is None or after is None:
        return None
    spent = sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
    return spent, len(set(before) - set(after))


async def _serve(data_dir: Path, database_url: str, *, statements: bool = False) -> None:
    """The child: the real create_app on the seeded database, each response stamped with the
    CPU time the server spent on it."""
    from aiohttp import web

    from hub.api.edge import Handler
    from hub.app import create_app

    @web.middleware
    async def server_cpu(request: web.Request, handler: Handler) -> web.StreamResponse:
        # With requests one at a time the process's CPU clock measures this one alone (its
        # database thread included); with several at once it is not reported.
        start = time.process_time()
        response = await handler(request)
        response.headers[CPU_HEADER] = f"{(time.process_time() - start) * 1000:.3f}"
        return response

    settings = Settings(data_dir=data_dir, database_url=database_url, log_level="WARNING")
    app = create_app(settings)
    app.middlewares.insert(0, server_cpu)
    if not statements:
        await serve_app(app, lambda: {})
        return
    from bench.statements import StatementStats
    from hub.api.keys import DATABASE

    stats = StatementStats()
    stats.watch(app[DATABASE].engine.sync_engine)

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        stats.requests += 1
        return response

    app.middlewares.insert(0, count)
    # Each line read answers what was seen since the last: first the warm-up, then the run.
    await serve_app(app, stats.take)


if __name__ == "__main__":
    if len(sys.argv) in (4, 5) and sys.argv[1] == "--serve":
        asyncio.run(
            _serve(Path(sys.argv[2]), sys.argv[3], statements=sys.argv[4:] == ["--statements"])
        )
    else:
        sys.exit(
            "usage: python -m bench.api --serve DATA_DIR DATABASE_URL [--statements] "
            "(run by `tcd-hub bench api`)"
        )

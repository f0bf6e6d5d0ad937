"""`tcd-hub bench api`: petition list, search and detail latency over HTTP on a seeded SQLite."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from sqlalchemy import select

from bench.common import Child, fresh_database, machine_load, percentile, serve_app
from bench.register import SEED, Office, seed_petitions
from hub.config import Settings
from hub.storage.db import Database
from hub.storage.tables import OfficeRow

WARMUP = 5
PASSWORD = "bench"

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


@dataclass(frozen=True)
class Timing:
    """One timed request: wall time at the client, CPU time the server spent on it."""

    wall_ms: float
    server_cpu_ms: float
    request: str


def _summary(timings: list[Timing]) -> dict[str, Any]:
    wall = sorted(t.wall_ms for t in timings)
    cpu = sorted(t.server_cpu_ms for t in timings)
    return {
        "p50_ms": round(percentile(wall, 0.50), 2),
        "p95_ms": round(percentile(wall, 0.95), 2),
        "max_ms": round(wall[-1], 2),
        "requests": len(timings),
        # CPU the server process spent per request: unlike wall time, other programs on the
        # machine barely move it, so it tells a slow query from a busy machine.
        "server_cpu_p50_ms": round(percentile(cpu, 0.50), 2),
        "server_cpu_p95_ms": round(percentile(cpu, 0.95), 2),
        "slowest": max(timings, key=lambda t: t.wall_ms).request,
        "most_cpu": max(timings, key=lambda t: t.server_cpu_ms).request,
    }


class Client:
    """Signed-in GETs against the hub, timed."""

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

    async def get(self, username: str, path: str) -> Timing:
        """GET `path` as `username`, timed; any answer but 200 is an error."""
        headers = {"Authorization": f"Bearer {self.tokens[username]}"}
        start = time.perf_counter()
        async with self.http.get(f"{self.base}{path}", headers=headers) as resp:
            raw = await resp.read()
        elapsed = (time.perf_counter() - start) * 1000
        if resp.status != 200:
            raise RuntimeError(f"GET {path} as {username}: {resp.status} {raw[:300]!r}")
        return Timing(elapsed, float(resp.headers.get(CPU_HEADER, "nan")), f"{username} {path}")


def _fill(params: dict[str, str], today: date, office: int) -> dict[str, str]:
    days = {f"{{d{d}}}": (today - timedelta(days=d)).isoformat() for d in (0, 90, 180, 365)}
    days["{office}"] = str(office)
    return {k: days.get(v, v) for k, v in params.items()}


async def _measure(client: Client, plan: list[tuple[str, str]]) -> list[Timing]:
    for username, path in plan[:WARMUP]:
        await client.get(username, path)
    return [await client.get(username, path) for username, path in plan]


def _plans(
    rng: random.Random, requests: int, by_path: dict[str, list[int]], offices: list[Office]
) -> dict[str, list[tuple[str, str]]]:
    today = date.today()
    central = next(o for o in offices if o.level == "central")
    hy = next(o for o in offices if o.code == "HY")
    users = [("staff", central), ("staff.hungyen", hy)]
    below = {u: [o for o in offices if o.path.startswith(scope.path)] for u, scope in users}
    ids = {
        u: [i for p, ids in by_path.items() if p.startswith(s.path) for i in ids] for u, s in users
    }
    plans: dict[str, list[tuple[str, str]]] = {"list": [], "search": [], "detail": []}
    for n in range(requests):
        username = users[n % 2][0]
        office = rng.choice(below[username]).id
        params = _fill(LIST_FILTERS[n % len(LIST_FILTERS)], today, office)
        params.update(limit="50", offset=str(50 * rng.randrange(0, 8)))
        plans["list"].append((username, f"/api/v1/petitions?{urlencode(params)}"))
        params = _fill(SEARCHES[n % len(SEARCHES)], today, office)
        params.update(limit="50", offset=str(50 * rng.choice((0, 0, 0, 1, 2))))
        plans["search"].append((username, f"/api/v1/petitions?{urlencode(params)}"))
        plans["detail"].append((username, f"/api/v1/petitions/{rng.choice(ids[username])}"))
    return plans


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


async def run_bench_api(args: argparse.Namespace) -> dict[str, Any]:
    """Seed a fresh SQLite with args.petitions petitions, serve it, time list/search/detail."""
    count = int(args.petitions)
    requests = max(1, int(args.requests))
    with tempfile.TemporaryDirectory(prefix="tcd-bench-") as tmp:
        data_dir = Path(tmp)
        settings = Settings(data_dir=data_dir)
        await fresh_database(settings, PASSWORD)
        started = time.perf_counter()
        by_path = await seed_petitions(settings, count)
        seed_seconds = time.perf_counter() - started
        plans = _plans(random.Random(SEED + 1), requests, by_path, await _offices(settings))
        load_before = machine_load()
        # The hub runs in a process of its own, so its CPU clock measures the server alone.
        hub = Child("bench.api", ["--serve", str(data_dir)])
        try:
            port = int((await asyncio.to_thread(hub.read))["port"])
            async with aiohttp.ClientSession() as http:
                client = Client(http, f"http://127.0.0.1:{port}")
                for username in ("staff", "staff.hungyen"):
                    await client.login(username)
                results = {
                    kind: _summary(await _measure(client, plan)) for kind, plan in plans.items()
                }
        finally:
            await asyncio.to_thread(hub.stop)
    return {
        "petitions": count,
        "seed_seconds": round(seed_seconds, 2),
        **results,
        "server": "subprocess",
        "database": "sqlite",
        "sqlite_version": sqlite3.sqlite_version,
        "warmup_requests": WARMUP,
        # Other work on the machine shows up in wall times; this says how much there was.
        "load_average_1min": [load_before, machine_load()],
        "cpus": os.cpu_count(),
    }


async def _serve(data_dir: Path) -> None:
    """The child: the real create_app on the seeded database, each response stamped with the
    CPU time the server spent on it."""
    from aiohttp import web

    from hub.api.edge import Handler
    from hub.app import create_app

    @web.middleware
    async def server_cpu(request: web.Request, handler: Handler) -> web.StreamResponse:
        # Requests come one at a time, so the process's CPU clock measures this one alone
        # (its database thread included).
        start = time.process_time()
        response = await handler(request)
        response.headers[CPU_HEADER] = f"{(time.process_time() - start) * 1000:.3f}"
        return response

    app = create_app(Settings(data_dir=data_dir, log_level="WARNING"))
    app.middlewares.insert(0, server_cpu)
    await serve_app(app, lambda: {})


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        asyncio.run(_serve(Path(sys.argv[2])))
    else:
        sys.exit("usage: python -m bench.api --serve DATA_DIR (run by `tcd-hub bench api`)")

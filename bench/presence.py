"""`tcd-hub bench presence`: how fast an operator's board follows thousands of bridge points
spread over several hub nodes sharing Redis, and what it costs the nodes.

Everything is real and on 127.0.0.1: a redis-server of the benchmark's own on a free port;
`--nodes` hub processes (`create_app` with the Redis URL, on one temporary SQLite database,
migrated and seeded with the demo data); one site office per site (provinces under the central
office, communes under them) with a kiosk account each; and the sites' Socket.IO clients in
`--client-processes` processes of their own, split evenly over the nodes. An operator signed
in over the REST API watches from the last node.

Kiosk accounts are signed in in the database (auth.open_sessions_without_password): their
password hash is one argon2 hash of a random password computed once, because 3,400 argon2
sign-ins would take minutes and measure the password pool, not presence. The sessions are
ordinary ones: every connection and every revalidation pass resolves them the way the hub
resolves any sign-in token. The operator signs in over the API with its password.

Once every site shows online on the operator's board, sites are toggled (disconnected, then
connected again a little later) at `--rate` changes per second. A change's latency runs from
the moment its client process starts it to the moment the operator's client receives the
site_status saying so (time.monotonic is CLOCK_MONOTONIC, one clock for every process on the
machine). The nodes' CPU is read from /proc over the toggling window.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import random
import secrets
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    Child,
    RedisServer,
    cpu_seconds,
    fresh_database,
    machine_load,
    percentile,
)

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 150.0  # every site connected and on the board, or the run stops
GRACE = 10.0  # after the last change, how long a missing status is waited for
HOLD = 2.0  # a toggled site stays away this long before it connects again
QUIET = 5.0  # seconds of CPU measured with every site connected and nothing changing
CONNECTS_AT_ONCE = 32  # per client process


def add_bench_presence_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `tcd-hub bench presence` (and the command it runs: args.func)."""
    parser.set_defaults(func=cmd_bench_presence)
    parser.add_argument("--sites", type=int, default=3400, help="connected site clients")
    parser.add_argument("--nodes", type=int, default=2, help="hub processes sharing Redis")
    parser.add_argument(
        "--changes", type=int, default=400, help="site changes measured (half away, half back)"
    )
    parser.add_argument("--rate", type=float, default=20.0, help="changes per second")
    parser.add_argument(
        "--client-processes", type=int, default=2, help="processes the site clients run in"
    )
    parser.add_argument("--seed", type=int, default=8, help="which sites are toggled")
    parser.add_argument("--json", action="store_true", help="print JSON only")


@dataclass(frozen=True)
class _Prepared:
    data_dir: Path
    secret_file: Path
    sites_file: Path  # JSON list of {"office_id", "token"}
    operator_password: str


def _settings(data_dir: Path, secret_key: str, redis_url: str = "") -> Any:
    from hub.config import Settings

    return Settings(
        data_dir=data_dir,
        secret_key=secret_key,
        redis_url=redis_url,
        ice_announced_ips=("127.0.0.1",),
        log_level="WARNING",
    )


def _tree(sites: int) -> list[tuple[str, str, str, str | None]]:
    """(code, name, level, parent code) of `sites` offices: provinces under the central office
    (one per 100 sites, at most 34) and communes shared out under them."""
    provinces = min(34, max(1, round(sites / 100)))
    offices: list[tuple[str, str, str, str | None]] = [
        (f"B{p:02d}", f"Ban Tiếp công dân tỉnh thử {p:02d}", "province", None)
        for p in range(1, min(provinces, sites) + 1)
    ]
    for n in range(sites - len(offices)):
        parent = offices[n % provinces][0]
        offices.append((f"{parent}.X{n:04d}", f"Xã thử {n:04d}", "commune", parent))
    return offices


async def _prepare(data_dir: Path, sites: int) -> _Prepared:
    """A migrated, seeded database with `sites` bench offices, a kiosk account and a sign-in
    each; the secret key and the operator's password."""
    from sqlalchemy import select

    from hub.clock import now
    from hub.domain.offices import OfficeDraft, child_path
    from hub.domain.users import Role
    from hub.services import auth
    from hub.services.passwords import hash_password
    from hub.storage.db import Database
    from hub.storage.tables import OfficeRow, UserRow

    secret_key, password = secrets.token_urlsafe(32), secrets.token_urlsafe(12)
    settings = _settings(data_dir, secret_key)
    await fresh_database(settings, password)
    # One hash for every kiosk: nobody signs in with it (see the module's docstring).
    shared_hash = await asyncio.to_thread(hash_password, secrets.token_urlsafe(24))
    db = Database.from_settings(settings)
    out: list[dict[str, Any]] = []
    try:
        async with db.transaction() as session:
            central = (
                await session.execute(select(OfficeRow).where(OfficeRow.level == "central"))
            ).scalar_one()
            # Provinces, then communes: rows written in bulk (a few statements, not four per
            # office as offices.create_office takes), checked by OfficeDraft all the same,
            # their paths made by the domain's child_path.
            rows: dict[str, OfficeRow] = {}
            for level in ("province", "commune"):
                batch = []
                for code, name, office_level, parent in _tree(sites):
                    if office_level != level:
                        continue
                    above = rows[parent] if parent else central
                    draft = OfficeDraft(code, name, level, above.id)
                    row = OfficeRow(
                        code=draft.code,
                        name=draft.name,
                        level=draft.level,
                        parent_id=draft.parent_id,
                        has_bridge_point=True,
                        path="",
                    )
                    rows[code] = row
                    batch.append((row, above))
                session.add_all([row for row, _ in batch])
                await session.flush()
                for row, above in batch:
                    row.path = child_path(above.path, row.id)
                await session.flush()
            kiosks = [
                UserRow(
                    username=f"kiosk.{row.code.lower()}",
                    display_name=f"Điểm cầu {row.name}",
                    role=str(Role.STAFF),
                    office_id=row.id,
                    password_hash=shared_hash,
                    active=True,
                    created_at=now(),
                )
                for row in rows.values()
            ]
            session.add_all(kiosks)
            await session.flush()
            for sign_in in await auth.open_sessions_without_password(session, kiosks, 6 * 3600):
                out.append({"office_id": sign_in.actor.office_id, "token": sign_in.token})
    finally:
        await db.close()
    secret_file = data_dir / "secret"
    secret_file.write_text(secret_key, encoding="utf-8")
    secret_file.chmod(0o600)  # by file, not on a command line other users can read
    sites_file = data_dir / "sites.json"
    sites_file.write_text(json.dumps(out), encoding="utf-8")
    sites_file.chmod(0o600)
    return _Prepared(data_dir, secret_file, sites_file, password)


# -- the run ----------------------------------------------------------------------------------


def cmd_bench_presence(args: argparse.Namespace) -> int:
    """`tcd-hub bench presence`: run the benchmark and print its JSON."""
    result = run_bench_presence(args)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


def run_bench_presence(args: argparse.Namespace) -> dict[str, Any]:
    """Start Redis and the nodes, connect the sites, toggle, measure; the figures."""
    if args.sites < 1 or args.nodes < 1 or args.client_processes < 1:
        raise SystemExit("error: --sites, --nodes and --client-processes must be at least 1")
    if not 2 <= args.changes <= 2 * args.sites or args.rate <= 0:
        raise SystemExit(
            "error: --changes must be from 2 to twice --sites (each site goes away and comes "
            "back once at most), and --rate positive"
        )
    with tempfile.TemporaryDirectory(prefix="tcd-bench-presence-") as tmp:
        workdir = Path(tmp)
        started = time.monotonic()
        prepared = asyncio.run(_prepare(workdir, args.sites))
        prepare_seconds = time.monotonic() - started
        redis = RedisServer(workdir)
        nodes: list[Child] = []
        try:
            node_args = [
                "--serve",
                "--data-dir", str(workdir),
                "--secret-key-file", str(prepared.secret_file),
                "--redis-url", redis.url,
            ]  # fmt: skip
            nodes += [Child("bench.presence", node_args) for _ in range(args.nodes)]
            urls = [f"http://127.0.0.1:{int(node.read()['port'])}" for node in nodes]
            result = asyncio.run(_drive(args, prepared, urls, nodes, redis.proc.pid))
        finally:
            for node in nodes:
                node.stop()
            redis.stop()
    result["prepare_seconds"] = round(prepare_seconds, 1)
    return result


class _Clients:
    """One client process: its sites' indexes, the changes it reports, its pipe."""

    def __init__(self, proc: asyncio.subprocess.Process, indexes: range) -> None:
        self.proc = proc
        self.indexes = indexes
        self.connected: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.changes: list[dict[str, Any]] = []
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            if not line.startswith(b"{"):
                continue
            message = json.loads(line)
            if "connected" in message and not self.connected.done():
                self.connected.set_result(message)
            elif "change" in message:
                self.changes.append(message["change"])
        if not self.connected.done():
            self.connected.set_exception(RuntimeError("a client process exited"))

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.send("quit")
            assert self.proc.stdin is not None
            await self.proc.stdin.drain()
        try:
            await asyncio.wait_for(self.proc.wait(), 20)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader


class _Board:
    """The operator's view: every site_status with the moment it arrived."""

    def __init__(self) -> None:
        self.events: dict[int, list[tuple[bool, float]]] = defaultdict(list)
        self.online: dict[int, bool] = {}

    def seen(self, status: dict[str, Any]) -> None:
        at = time.monotonic()
        office_id, online = int(status["office_id"]), bool(status["online"])
        self.events[office_id].append((online, at))
        self.online[office_id] = online

    def dropped(self, skip: set[int], start: float, end: float) -> int:
        """Offices outside `skip` that went offline between start and end (sockets the
        load dropped: Engine.IO gives up on a connection that missed its pings)."""
        return sum(
            1
            for office_id, events in self.events.items()
            if office_id not in skip
            for online, at in events
            if not online and start <= at <= end
        )

    def count_online(self) -> int:
        return sum(self.online.values())

    def arrival(self, office_id: int, online: bool, after: float) -> float | None:
        """When the first status saying `online` arrived after `after`."""
        for value, at in self.events[office_id]:
            if value is online and at >= after:
                return at
        return None


async def _drive(
    args: argparse.Namespace,
    prepared: _Prepared,
    urls: list[str],
    nodes: list[Child],
    redis_pid: int,
) -> dict[str, Any]:
    import aiohttp
    import socketio

    sites: list[dict[str, Any]] = json.loads(prepared.sites_file.read_text(encoding="utf-8"))
    async with aiohttp.ClientSession() as http:
        async with http.post(
            urls[-1] + "/api/v1/auth/login",
            json={"username": "operator", "password": prepared.operator_password},
        ) as response:
            body = await response.json()
            if response.status != 200:
                raise RuntimeError(f"the operator could not sign in: {body}")
            operator_token = str(body["token"])
    board = _Board()
    operator = socketio.AsyncClient(reconnection=False, handle_sigint=False)
    operator.on("site_status", board.seen)
    await operator.connect(
        urls[-1], auth={"token": operator_token}, transports=["websocket"], wait_timeout=10
    )
    clients: list[_Clients] = []
    try:
        ack = await operator.call("watch_sites", {}, timeout=30)
        if not ack.get("ok"):
            raise RuntimeError(f"watch_sites refused: {ack}")
        started = time.monotonic()
        share = math.ceil(len(sites) / args.client_processes)
        for first in range(0, len(sites), share):
            indexes = range(first, min(first + share, len(sites)))
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.presence", "--clients",
                "--sites-file", str(prepared.sites_file),
                "--first", str(indexes.start), "--count", str(len(indexes)),
                "--hubs", ",".join(urls),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            clients.append(_Clients(proc, indexes))
        reports = await asyncio.wait_for(
            asyncio.gather(*(c.connected for c in clients)), CONNECT_TIMEOUT
        )
        failed = sum(int(r["failed"]) for r in reports)
        if failed:
            raise RuntimeError(f"{failed} site clients could not connect")
        deadline = started + CONNECT_TIMEOUT
        while board.count_online() < len(sites):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the board shows {board.count_online()} of {len(sites)} sites online"
                )
            await asyncio.sleep(0.1)
        connect_seconds = time.monotonic() - started
        snapshot = await operator.call("watch_sites", {}, timeout=30)
        snapshot_online = sum(1 for s in snapshot["sites"] if s["online"])

        plan = _plan(len(sites), args.changes, args.rate, args.seed)
        owner = {i: c for c in clients for i in c.indexes}
        pids = [node.pid for node in nodes]
        client_pids = [c.proc.pid for c in clients]
        # First a quiet window: what holding the connections costs with nothing changing
        # (Engine.IO pings, the revalidation passes over every connection).
        quiet0, q0 = sum(cpu_seconds(pid) for pid in pids), time.monotonic()
        await asyncio.sleep(QUIET)
        quiet_cores = (sum(cpu_seconds(pid) for pid in pids) - quiet0) / (time.monotonic() - q0)
        passes0 = await asyncio.to_thread(_revalidation_passes, nodes)
        cpu0 = [cpu_seconds(pid) for pid in (*pids, redis_pid, *client_pids)]
        t0 = time.monotonic()
        for at, index in plan:
            delay = t0 + at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            owner[index].send(f"flip {index}")
        grace_end = time.monotonic() + GRACE
        while time.monotonic() < grace_end:
            changes = [change for c in clients for change in c.changes]
            if len(changes) == len(plan) and all(_latency(board, ch) is not None for ch in changes):
                break
            await asyncio.sleep(0.1)
        t1 = time.monotonic()
        cpu1 = [cpu_seconds(pid) for pid in (*pids, redis_pid, *client_pids)]
        passes = await asyncio.to_thread(_revalidation_passes, nodes) - passes0
    finally:
        await operator.disconnect()
        for client in clients:
            await client.stop()
    changes = [change for c in clients for change in c.changes]
    latencies = sorted(
        ms
        for ms in (_latency(board, ch) for ch in changes if not ch.get("error"))
        if ms is not None
    )
    wall = t1 - t0
    used = [b - a for a, b in zip(cpu0, cpu1, strict=True)]
    hub_cores = sum(used[: len(nodes)]) / wall
    return {
        "sites": len(sites),
        "nodes": len(nodes),
        "board_latency_ms": {
            "p50": round(percentile(latencies, 0.50), 1) if latencies else None,
            "p95": round(percentile(latencies, 0.95), 1) if latencies else None,
            "max": round(latencies[-1], 1) if latencies else None,
        },
        "cpu_cores_per_1000_sites": round(hub_cores / (len(sites) / 1000), 4),
        "changes": len(plan),
        "seen": len(latencies),
        "failed_changes": sum(1 for ch in changes if ch.get("error")),
        "unplanned_offline": board.dropped(
            {int(sites[index]["office_id"]) for _, index in plan}, t0, t1
        ),
        "snapshot_online": snapshot_online,
        "hub_cpu_cores": round(hub_cores, 3),
        "quiet_cpu_cores_per_1000_sites": round(quiet_cores / (len(sites) / 1000), 4),
        # Passes over every connection of a node (signaling.revalidation), all nodes together.
        "revalidation_passes": passes,
        "redis_cpu_cores": round(used[len(nodes)] / wall, 3),
        "client_cpu_cores": round(sum(used[len(nodes) + 1 :]) / wall, 3),
        "client_processes": len(clients),
        "measured_seconds": round(wall, 1),
        "connect_seconds": round(connect_seconds, 1),
        "auth": "kiosk sign-ins opened in the database, resolved by the hub's token check",
        "load_average": machine_load(),
    }


def _plan(sites: int, changes: int, rate: float, seed: int) -> list[tuple[float, int]]:
    """(seconds from the start, site index) of every change: distinct sites go away at an
    even pace and each comes back HOLD seconds later (or half the run, if shorter)."""
    away = min(changes // 2, sites)
    duration = 2 * away / rate
    hold = min(HOLD, duration / 2)
    step = (duration - hold) / away
    chosen = random.Random(seed).sample(range(sites), away)
    plan = [(i * step, index) for i, index in enumerate(chosen)]
    plan += [(at + hold, index) for at, index in plan]
    return sorted(plan)


def _revalidation_passes(nodes: list[Child]) -> int:
    return sum(int(node.ask("stats")["revalidation_passes"]) for node in nodes)


def _latency(board: _Board, change: dict[str, Any]) -> float | None:
    arrived = board.arrival(int(change["office_id"]), bool(change["online"]), change["t0"])
    return (arrived - change["t0"]) * 1000 if arrived is not None else None


# -- child processes ------------------------------------------------------------------------


async def _serve(data_dir: Path, secret_key: str, redis_url: str) -> None:
    """A hub node: the real create_app on the shared database and Redis."""
    from bench.common import serve_app
    from hub.app import create_app
    from signaling.server import SIGNALING_KEY

    app = create_app(_settings(data_dir, secret_key, redis_url))
    await serve_app(app, lambda: {"revalidation_passes": app[SIGNALING_KEY].revalidator.passes})


@dataclass
class _Site:
    index: int
    office_id: int
    token: str
    url: str
    client: Any = None


async def _clients(sites: list[dict[str, Any]], first: int, hubs: list[str]) -> None:
    """Site clients in this process: connect them all, then take `flip <index>` lines: a
    connected site disconnects, a disconnected one connects; each change is reported with
    the moment it started."""
    import aiohttp
    import socketio

    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    own = [
        _Site(first + i, int(s["office_id"]), str(s["token"]), hubs[(first + i) % len(hubs)])
        for i, s in enumerate(sites)
    ]
    by_index = {site.index: site for site in own}
    gate = asyncio.Semaphore(CONNECTS_AT_ONCE)

    async def connect(site: _Site) -> None:
        client = socketio.AsyncClient(reconnection=False, http_session=http, handle_sigint=False)
        await client.connect(
            site.url, auth={"token": site.token}, transports=["websocket"], wait_timeout=30
        )
        site.client = client

    async def first_connect(site: _Site) -> bool:
        async with gate:
            for attempt in range(3):
                try:
                    await connect(site)
                    return True
                except Exception as exc:
                    logger.warning(
                        "site %s: connect failed (%s), attempt %s", site.index, exc, attempt
                    )
                    await asyncio.sleep(0.5)
            return False

    async def flip(site: _Site) -> None:
        online = site.client is None
        started = time.monotonic()
        change: dict[str, Any] = {"office_id": site.office_id, "online": online, "t0": started}
        try:
            if online:
                await connect(site)
            else:
                client, site.client = site.client, None
                await client.disconnect()
        except Exception as exc:
            change["error"] = str(exc)
        print(json.dumps({"change": change}), flush=True)

    started = time.monotonic()
    results = await asyncio.gather(*(first_connect(site) for site in own))
    print(
        json.dumps(
            {
                "connected": sum(results),
                "failed": len(results) - sum(results),
                "seconds": round(time.monotonic() - started, 1),
            }
        ),
        flush=True,
    )
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks: set[asyncio.Task[None]] = set()
    try:
        while line := (await reader.readline()).decode().strip():
            if line == "quit":
                break
            if line.startswith("flip "):
                task = loop.create_task(flip(by_index[int(line.split()[1])]))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
    finally:
        for task in list(tasks):
            task.cancel()
        # The measurement is over: Engine.IO's complaints about 1,700 sockets closing at
        # once are not worth a line each.
        logging.getLogger("engineio.client").setLevel(logging.CRITICAL)
        connected = [site.client for site in own if site.client is not None]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(c.disconnect() for c in connected), return_exceptions=True), 15
            )
        await http.close()


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.presence`: the benchmark, or one of its child processes."""
    parser = argparse.ArgumentParser(prog="tcd-hub bench presence")
    add_bench_presence_arguments(parser)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--clients", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--secret-key-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    parser.add_argument("--sites-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--hubs", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.serve:
        secret = args.secret_key_file.read_text(encoding="utf-8").strip()
        asyncio.run(_serve(args.data_dir, secret, args.redis_url))
    elif args.clients:
        sites = json.loads(args.sites_file.read_text(encoding="utf-8"))
        chunk = sites[args.first : args.first + args.count]
        asyncio.run(_clients(chunk, args.first, args.hubs.split(",")))
    else:
        cmd_bench_presence(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

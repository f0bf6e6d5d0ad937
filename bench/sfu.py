"""`tcd-hub bench sfu`: forwarded streams per CPU core, packet forwarding (the product) against
frame forwarding (the earlier path) in the same run, and against stock MediaRelay on request; in
the hub's own process (--workers 0) or on its media workers (--workers W).

The hub under test is the real one: `create_app` on a temporary SQLite database, migrated and
seeded with the demo data, with --rooms live hearings hosted by the central office. It runs in
its own process (its CPU is read from /proc/<pid>/stat), and so does each of its media workers
(their pids come from the node's LocalWorkers). The site agents of each hearing run in other
processes, AGENTS_PER_PROCESS each, with join tokens: the chair's seat first, then one seat per
site office, which wait in the waiting room until the chair admits them. They publish pre-
encoded VP8 (encoded once, replayed) and count the frames they receive without decoding, so the
load generator stays light on a small machine. With workers, hearings are joined one after the
other, each once the workers' load reports show the previous one, so that the hub's least-loaded
placement sees them. Everything is on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import os
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import Child, cpu_seconds, fresh_database, machine_load

if TYPE_CHECKING:
    from hub.storage.db import Database
    from signaling.site_agent import EncodedClip

logger = logging.getLogger(__name__)

WARMUP_TIMEOUT = 30.0
# Site agents per load-generator process: one Python process receiving every stream of an
# 8-site room (56 at about 115 packets/s each) saturates its core and loses packets itself.
AGENTS_PER_PROCESS = 3


def add_bench_sfu_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `tcd-hub bench sfu` (and the command it runs: args.func)."""
    parser.set_defaults(func=cmd_bench_sfu)
    parser.add_argument("--sites", type=int, default=6, help="sites in each forwarding room")
    parser.add_argument("--rooms", type=int, default=1, help="live hearings at once")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="media worker processes of the hub (0: rooms in the hub's own process)",
    )
    parser.add_argument(
        "--relay-sites",
        type=int,
        default=3,
        help="sites in the MediaRelay baseline (transcoding saturates a small machine quickly)",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per mode")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument(
        "--mode",
        choices=("both", "packet", "packet-python", "frame", "mediarelay", "fanout", "all"),
        default="both",
        help="which media modes to measure: both = packet and frame forwarding (default); "
        "packet uses the compiled fan-out (rooms/_fanout.so, make fanout), packet-python the "
        "pure-Python fallback; fanout = packet and packet-python; all = every one of them and "
        "the MediaRelay baseline",
    )


@dataclass(frozen=True)
class _Hearing:
    hearing_id: int
    tokens_file: Path  # JSON list of join tokens, the chair's first


@dataclass(frozen=True)
class _Prepared:
    data_dir: Path
    secret_key: str
    hearings: tuple[_Hearing, ...]


def _bench_settings(data_dir: Path, secret_key: str, mode: str, workers: int = 0) -> Any:
    from hub.config import Settings

    return Settings(
        data_dir=data_dir,
        secret_key=secret_key,
        ice_announced_ips=("127.0.0.1",),
        log_level="WARNING",
        media_mode=mode,
        media_workers=workers,
        # Every stream forwarded all the time: the load generator on the same machine lags now
        # and then, which the hub would read as bad links and answer with low-bandwidth mode.
        low_bandwidth_after_seconds=0,
    )


async def _prepare(data_dir: Path, sites: int, rooms: int) -> _Prepared:
    """Migrate and seed a fresh database; `rooms` live hearings with `sites` seats each (the
    chair's included) and their join tokens."""
    from hub.storage.db import Database

    secret_key = secrets.token_urlsafe(32)
    settings = _bench_settings(data_dir, secret_key, "packet")
    await fresh_database(settings, secrets.token_urlsafe(12))
    db = Database.from_settings(settings)
    try:
        made = [await _live_hearing(db, data_dir, secret_key, sites, i) for i in range(rooms)]
    finally:
        await db.close()
    return _Prepared(data_dir, secret_key, tuple(made))


async def _live_hearing(
    db: Database, data_dir: Path, secret_key: str, sites: int, index: int
) -> _Hearing:
    """One live hearing of the central office; its tokens (the chair's first) in a file."""
    from sqlalchemy import select

    from hub.clock import now
    from hub.domain.hearings import HearingDraft, HearingKind, HearingStatus
    from hub.services import hearings
    from hub.services.auth import actor_for_user
    from hub.storage.tables import OfficeRow, UserRow

    async with db.transaction() as session:
        users = {u.username: u for u in (await session.execute(select(UserRow))).scalars()}
        staff = await actor_for_user(session, users["staff"])
        leader = await actor_for_user(session, users["leader"])
        bridges = [
            o.id
            for o in (await session.execute(select(OfficeRow).order_by(OfficeRow.id))).scalars()
            if o.has_bridge_point and o.id != staff.office_id
        ]
        # More sites than bridge points: several seats per office.
        seats = [bridges[i % len(bridges)] for i in range(max(0, sites - 1))]
        start = now()
        (row,) = await hearings.create(
            session,
            staff,
            HearingDraft(
                title=f"SFU benchmark {index + 1}",
                kind=HearingKind.ADHOC,
                host_office_id=staff.office_id,
                site_office_ids=tuple(sorted(set(seats))),
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                chair_user_id=leader.user_id,
            ),
        )
        await hearings.set_status(session, leader, row.id, HearingStatus.LIVE)

        async def token(actor: Any, office_id: int | None) -> str:
            issued = await hearings.join_token(
                session,
                actor,
                row.id,
                office_id=office_id,
                secret=secret_key,
                ttl_seconds=3600,
            )
            return str(issued["token"])

        tokens = [await token(leader, None)] + [await token(staff, o) for o in seats]
        hearing_id = row.id
    tokens_file = data_dir / f"tokens-{index}.json"
    tokens_file.write_text(json.dumps(tokens), encoding="utf-8")
    return _Hearing(hearing_id, tokens_file)


@dataclass(frozen=True)
class _Run:
    mode: str
    sites: int
    rooms: int
    workers: int
    seconds: float


def _measure(run: _Run) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tcd-bench-sfu-") as tmp:
        prepared = asyncio.run(_prepare(Path(tmp), run.sites, run.rooms))
        return _measure_prepared(run, prepared)


def _merged(snaps: list[dict[str, Any]]) -> dict[str, Any]:
    """Every room's agents' counts in one snapshot (participant ids are unique)."""
    merged: dict[str, Any] = {"sent": {}, "received": {}, "bitrate": None}
    for snap in snaps:
        merged["sent"].update(snap["sent"])
        merged["received"].update(snap["received"])
        merged["bitrate"] = snap["bitrate"]
    return merged


def _merged_snap(agents: list[Child]) -> dict[str, Any]:
    """Ask every room's agents for their counts; in one snapshot."""
    return _merged([child.ask("snap") for child in agents])


def _wait_for_reports(hub: Child, participants: int, workers: int) -> None:
    """Until the workers' load reports (what placement reads) count `participants`."""
    deadline = time.monotonic() + WARMUP_TIMEOUT
    while sum(_live_loads(hub.ask("stats"), workers).values()) < participants:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the workers' load reports never counted {participants}")
        time.sleep(0.25)


def _live_loads(stats: dict[str, Any], workers: int) -> dict[str, int]:
    """The workers' reported participants; every worker must be live in the node's eyes: one
    it took for dead (a late load report) has had its rooms placed again, and a run over
    rooms that moved measures the move, not the forwarding."""
    loads: dict[str, int] = stats["loads"]
    if len(loads) < workers:
        missing = sorted(set(stats["workers"]) - set(loads))
        raise RuntimeError(
            f"media worker(s) {missing} taken for dead by the hub (load report late; "
            f"machine load {machine_load()}): their rooms moved, the run is void"
        )
    return loads


def _cpu(pids: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


def _measure_prepared(run: _Run, prepared: _Prepared) -> dict[str, Any]:
    # packet: the compiled fan-out, required (a missing library fails the run, naming it);
    # packet-python: the same hub with the pure-Python path.
    fanout = {"packet": "compiled", "packet-python": "python"}.get(run.mode, "auto")
    hub = Child(
        "bench.sfu",
        [
            "--serve",
            "--media-mode",
            "packet" if run.mode == "packet-python" else run.mode,
            "--workers",
            str(run.workers),
            "--data-dir",
            str(prepared.data_dir),
            "--secret-key-file",
            str(_write_secret(prepared)),
        ],
        env={"TCD_FANOUT": fanout},
    )
    agents: list[Child] = []
    try:
        port = int(hub.read()["port"])
        joined = 0
        rooms: list[list[Child]] = []  # each hearing's agent processes, the chair's first
        for hearing in prepared.hearings:
            tokens = json.loads(hearing.tokens_file.read_text(encoding="utf-8"))
            room: list[Child] = []
            for index in range(0, len(tokens), AGENTS_PER_PROCESS):
                group = hearing.tokens_file.with_name(f"{hearing.tokens_file.stem}-{index}.json")
                group.write_text(json.dumps(tokens[index : index + AGENTS_PER_PROCESS]))
                child = Child(
                    "bench.sfu",
                    [
                        "--agents",
                        "--hub",
                        f"http://127.0.0.1:{port}",
                        "--hearing",
                        str(hearing.hearing_id),
                        "--tokens-file",
                        str(group),
                        "--clip-file",
                        str(prepared.data_dir / "clip.json"),
                        *(["--chair"] if index == 0 else []),
                    ],
                )
                agents.append(child)
                room.append(child)
                joined += int(child.read()["joined"])  # its sites joined and were admitted
            rooms.append(room)
            if run.workers:
                _wait_for_reports(hub, joined, run.workers)
        deadline = time.monotonic() + WARMUP_TIMEOUT
        while True:
            snaps = [_merged([child.ask("snap") for child in room]) for room in rooms]
            # Each room on its own: sites hear the sites of their own hearing only.
            if all(_all_flowing(snap, minimum=30) for snap in snaps):
                break
            if time.monotonic() > deadline:
                if run.workers:
                    _live_loads(hub.ask("stats"), run.workers)  # the likelier cause, named
                totals = {
                    k: v
                    for k, v in hub.ask("stats").get("rooms", {}).items()
                    if not isinstance(v, dict | list)
                }
                raise RuntimeError(
                    f"{run.mode}: media did not flow between all sites: {_merged(snaps)}; "
                    f"the hub's figures: {totals}"
                )
            time.sleep(0.5)
        hub0 = hub.ask("stats")
        ready_file = os.environ.get("TCD_BENCH_SFU_READY_FILE")
        if ready_file:
            # For a profiler to attach to the hub while it is measured (and only then).
            Path(ready_file).write_text(f"{hub.pid}\n")
        pids = {"hub": hub.pid, **{f"agents-{i}": a.pid for i, a in enumerate(agents)}}
        pids.update({f"worker:{w}": int(s["pid"]) for w, s in hub0.get("workers", {}).items()})
        cpu0, t0 = _cpu(pids), time.monotonic()
        first = _merged_snap(agents)
        time.sleep(run.seconds)
        last, hub1 = _merged_snap(agents), hub.ask("stats")
        cpu1, t1 = _cpu(pids), time.monotonic()
        if run.workers:
            _live_loads(hub1, run.workers)
    finally:
        for child in agents:
            child.stop()
        hub.stop()
    wall = t1 - t0
    cores = {name: (cpu1[name] - cpu0[name]) / wall for name in pids}
    streams = run.rooms * run.sites * (run.sites - 1)
    shares = _frame_shares(first, last)
    result: dict[str, Any] = {"sites": run.sites, "rooms": run.rooms}
    if run.mode.startswith("packet"):
        result["fanout"] = hub1.get("fanout")
    if run.workers:
        result["workers"] = run.workers
    result["forwarded_video_streams"] = streams
    # Of those, the ones whose subscriber got any frame while measuring: on a starved machine
    # some stop, and a figure per core over streams that did not flow would flatter.
    result["flowing_streams"] = shares["flowing"]
    result["hub_cpu_cores"] = round(cores["hub"], 4)
    if run.workers:
        result.update(_on_workers(streams, cores, hub0, hub1))
    else:
        hub_cores = cores["hub"]
        result["streams_per_core"] = round(streams / hub_cores, 1) if hub_cores > 0 else None
    result.update(
        {
            "min_frame_share": shares["min_pair"],
            "measured_seconds": round(wall, 2),
            "agents_cpu_cores": round(
                sum(c for name, c in cores.items() if name.startswith("agents-")), 4
            ),
            "sent_bitrate_bps": last.get("bitrate"),
            "mean_frame_share": shares["mean_pair"],
            "worst_pairs": shares["worst_pairs"],
            "load_average": machine_load(),
        }
    )
    if run.workers:
        result["subscriber_frame_share"] = shares["by_subscriber"]
    else:
        # The hub's own count (RoomManager.stats()) over the measured seconds, beside the
        # agents' count above: forwarding modes only (MediaRelay forwards no encoded frames).
        result["hub_rooms"] = _forwarding(hub0["rooms"], hub1["rooms"])
    return result


def _forwarding(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """RoomManager.stats() figures over the measured seconds."""
    return {
        "forwarded_tracks": after["forwarded_tracks"],
        "frames_received": after["frames_received"] - before["frames_received"],
        "frames_forwarded": after["frames_forwarded"] - before["frames_forwarded"],
        "max_queue_depth": after["max_queue_depth"],
        **{
            name: after.get(name, 0) - before.get(name, 0)
            for name in (
                "packets_retransmitted",
                "packets_dropped",
                "nacks_unanswered",
                "packets_received",
                "packets_compiled",
            )
        },
    }


def _on_workers(
    streams: int, cores: dict[str, float], hub0: dict[str, Any], hub1: dict[str, Any]
) -> dict[str, Any]:
    """Per worker: its CPU, its rooms and their forwarding; streams per core across them."""
    by_worker: dict[str, Any] = {}
    placement: dict[str, str] = {}
    for worker_id, after in sorted(hub1["workers"].items()):
        before = hub0["workers"].get(worker_id)
        if before is None or before["pid"] != after["pid"]:
            raise RuntimeError(f"media worker {worker_id} restarted during the measurement")
        stats = after["stats"]
        rooms = [r["hearing_id"] for r in stats["by_room"]]
        if rooms != [r["hearing_id"] for r in before["stats"]["by_room"]]:
            raise RuntimeError(f"rooms moved on or off media worker {worker_id} while measuring")
        placement.update((str(hearing_id), worker_id) for hearing_id in rooms)
        by_worker[worker_id] = {
            "cpu_cores": round(cores[f"worker:{worker_id}"], 4),
            "rooms": stats["rooms"],
            "participants": stats["participants"],
            **_forwarding(before["stats"], stats),
        }
    worker_cores = sum(w["cpu_cores"] for w in by_worker.values())
    return {
        "workers_cpu_cores": round(worker_cores, 4),
        "streams_per_core": round(streams / worker_cores, 1) if worker_cores > 0 else None,
        "placement": dict(sorted(placement.items(), key=lambda item: int(item[0]))),
        "by_worker": by_worker,
    }


def _frame_shares(first: dict[str, Any], last: dict[str, Any]) -> dict[str, Any]:
    """Frames received over frames sent, per (publisher, subscriber) pair and per subscriber
    (all it received over all its publishers sent), over the measured seconds."""
    shares: list[float] = []
    pairs: list[tuple[float, str, str]] = []
    subscribers: list[float] = []
    flowing = 0
    for receiver, received in last["received"].items():
        got_all = sent_all = 0
        for sender, count in received.items():
            if sender == receiver or sender not in last["sent"]:
                continue
            sent = last["sent"][sender] - first["sent"].get(sender, 0)
            got = count - first["received"].get(receiver, {}).get(sender, 0)
            if sent > 0:
                flowing += got > 0
                shares.append(min(1.0, got / sent))
                pairs.append((round(got / sent, 3), sender[:6], receiver[:6]))
                got_all, sent_all = got_all + got, sent_all + sent
        if sent_all > 0:
            subscribers.append(min(1.0, got_all / sent_all))
    return {
        "min_pair": round(min(shares), 4) if shares else 0.0,
        "mean_pair": round(sum(shares) / len(shares), 4) if shares else 0.0,
        "worst_pairs": sorted(pairs)[:3],
        "flowing": flowing,
        "by_subscriber": {
            "subscribers": len(subscribers),
            "min": round(min(subscribers), 4) if subscribers else 0.0,
            "mean": round(sum(subscribers) / len(subscribers), 4) if subscribers else 0.0,
        },
    }


def _all_flowing(snap: dict[str, Any], minimum: int) -> bool:
    senders = list(snap["sent"])
    if not senders:
        return False
    for receiver in senders:
        received = snap["received"].get(receiver, {})
        for sender in senders:
            if sender != receiver and received.get(sender, 0) < minimum:
                return False
    return True


def cmd_bench_sfu(args: argparse.Namespace) -> int:
    """`tcd-hub bench sfu`: run the benchmark and print its JSON."""
    run_bench_sfu(args)
    return 0


def run_bench_sfu(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark; returns {"packet": {...}, "frame": {...}, "mediarelay": {...},
    "packet_over_frame", "ratio"} for the modes measured."""
    if args.workers < 0 or args.rooms < 1 or args.sites < 2:
        raise SystemExit("bench sfu: --workers >= 0, --rooms >= 1 and --sites >= 2")
    modes = {
        "both": ("packet", "frame"),
        "fanout": ("packet", "packet-python"),
        "all": ("packet", "packet-python", "frame", "mediarelay"),
    }.get(args.mode, (args.mode,))
    result: dict[str, Any] = {}
    for mode in modes:
        sites = args.relay_sites if mode == "mediarelay" else args.sites
        result[mode] = _measure(_Run(mode, sites, args.rooms, args.workers, args.seconds))
    packet = result.get("packet", {}).get("streams_per_core")
    frame = result.get("frame", {}).get("streams_per_core")
    relay = result.get("mediarelay", {}).get("streams_per_core")
    python = result.get("packet-python", {}).get("streams_per_core")
    if packet and frame:
        result["packet_over_frame"] = round(packet / frame, 2)
    if packet and python:
        result["compiled_over_python"] = round(packet / python, 2)
    if relay and (packet or frame):
        result["ratio"] = round((packet or frame) / relay, 1)
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))
    return result


# -- child processes ----------------------------------------------------------------------


def _write_secret(prepared: _Prepared) -> Path:
    # The secret goes by file, not on a command line other users can read.
    path = prepared.data_dir / "secret"
    path.write_text(prepared.secret_key, encoding="utf-8")
    path.chmod(0o600)
    return path


def _fanout() -> str:
    """Which packet path this process forwards with."""
    from rooms import fanout

    return "python" if fanout.LIBRARY is None else "compiled"


async def _serve(mode: str, workers: int, data_dir: Path, secret_key: str) -> None:
    """The hub under test: the real create_app on the prepared database, on 127.0.0.1, with
    `workers` local media workers (0: rooms in this process). Each line on stdin is answered
    with the rooms' forwarding figures (RoomManager.stats(): this process's, or each worker's
    over the channel's stats request, with its pid) and the workers' load reports."""
    from bench.common import serve_app
    from hub.app import create_app
    from rooms import RoomManager
    from rooms.remote import WorkerBackend
    from signaling.server import SIGNALING_KEY

    app = create_app(_bench_settings(data_dir, secret_key, mode, workers))
    rooms = app[SIGNALING_KEY].rooms
    if not workers:
        assert isinstance(rooms, RoomManager), "--workers 0: rooms in the hub's own process"
        await serve_app(app, lambda: {"rooms": rooms.stats().as_dict(), "fanout": _fanout()})
        return
    assert isinstance(rooms, WorkerBackend) and rooms.local is not None
    backend, local = rooms, rooms.local

    async def ready() -> None:
        deadline = time.monotonic() + WARMUP_TIMEOUT
        while len(await backend.channel.workers()) < workers:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{workers} media workers did not all start")
            await asyncio.sleep(0.2)

    async def answer() -> dict[str, Any]:
        loads = await backend.channel.workers()
        figures: dict[str, Any] = {}
        for worker_id, process in sorted(local.processes.items()):
            stats = await backend.call(worker_id, "stats")
            figures[worker_id] = {"pid": process.pid, "stats": stats}
        # (workers inherit TCD_FANOUT from this process, so they forward as it would)
        return {
            "workers": figures,
            "loads": {w: load.participants for w, load in loads.items()},
            "fanout": _fanout(),
        }

    await serve_app(app, answer, ready=ready)


def _clip(path: Path | None) -> EncodedClip:
    """The replayed VP8, encoded by the first agents process and read by the others: encoding
    takes every core for a while, and the rooms already live would pay for it. Without a file
    (one agents process, as bench mixed runs it) it is encoded here and kept nowhere."""
    from signaling.site_agent import EncodedClip, encode_clip

    if path is None:
        return encode_clip(seconds=3.0)
    if path.exists():
        saved = json.loads(path.read_text(encoding="ascii"))
        return EncodedClip(
            tuple(base64.b64decode(f) for f in saved["delta"]),
            tuple(base64.b64decode(f) for f in saved["key"]),
        )
    clip = encode_clip(seconds=3.0)
    saved = {k: [base64.b64encode(f).decode() for f in getattr(clip, k)] for k in ("delta", "key")}
    path.write_text(json.dumps(saved), encoding="ascii")
    return clip


async def _agents(
    hub_url: str, hearing_id: int, tokens: list[str], clip_file: Path | None, chair_here: bool
) -> None:
    """Site agents in this one process; with the chair (its token first), which joins first
    and admits every site that waits, from this process or another; all publish replayed VP8,
    count frames and answer 'snap'."""
    from signaling.site_agent import SiteAgent

    clip = _clip(clip_file)
    agents = [SiteAgent(hub_url, t, hearing_id, clip=clip, audio=False) for t in tokens]
    admitting: asyncio.Task[None] | None = None

    async def admit_waiting(chair: SiteAgent) -> None:
        admitted: set[str] = set()
        while True:
            for pid, described in list(chair.participants.items()):
                if described.get("state") == "waiting" and pid not in admitted:
                    reply = await chair.call("admit", {"participant_id": pid})
                    if reply.get("ok"):
                        admitted.add(pid)
            await asyncio.sleep(0.05)

    try:
        for agent in agents:
            await agent.start()
            if chair_here and admitting is None:
                admitting = asyncio.get_running_loop().create_task(admit_waiting(agent))
        deadline = time.monotonic() + WARMUP_TIMEOUT
        while any(a.state != "admitted" for a in agents):
            if time.monotonic() > deadline:
                raise RuntimeError("sites were not admitted")
            await asyncio.sleep(0.05)
        print(json.dumps({"joined": len(agents)}), flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line or line.strip() == "quit":
                return
            snap: dict[str, Any] = {"sent": {}, "received": {}, "bitrate": round(clip.bitrate)}
            for agent in agents:
                stats = agent.stats()
                pid = str(agent.participant_id)
                snap["sent"][pid] = stats.sent_video_frames
                snap["received"][pid] = stats.received_video
            print(json.dumps(snap), flush=True)
    finally:
        if admitting is not None:
            admitting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await admitting
        for agent in agents:
            with contextlib.suppress(Exception):
                await agent.close()


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.sfu`: the benchmark, or one of its child processes."""
    parser = argparse.ArgumentParser(prog="tcd-hub bench sfu")
    add_bench_sfu_arguments(parser)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--agents", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--chair", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--hub", help=argparse.SUPPRESS)
    parser.add_argument("--media-mode", default="packet", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--secret-key-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--hearing", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tokens-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--clip-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.serve:
        secret = args.secret_key_file.read_text(encoding="utf-8").strip()
        asyncio.run(_serve(args.media_mode, args.workers, args.data_dir, secret))
    elif args.agents:
        tokens = json.loads(args.tokens_file.read_text(encoding="utf-8"))
        asyncio.run(_agents(args.hub, args.hearing, tokens, args.clip_file, args.chair))
    else:
        run_bench_sfu(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

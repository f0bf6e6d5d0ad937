"""`tcd-hub bench sfu`: forwarded streams per hub CPU core, passthrough against stock MediaRelay.

The hub under test is the real one: `create_app` on a temporary SQLite database, migrated and
seeded with the demo data, with a live hearing hosted by the central office. It runs in its own
process (its CPU is read from /proc/<pid>/stat). The site agents run together in another
process with join tokens for the hearing: the chair's seat first, then one seat per site office,
which wait in the waiting room until the chair admits them. They publish pre-encoded VP8
(encoded once, replayed) and count the frames they receive without decoding, so the load
generator stays light on a small machine. Everything is on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import Child, cpu_seconds, fresh_database

logger = logging.getLogger(__name__)

WARMUP_TIMEOUT = 30.0


def add_bench_sfu_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `tcd-hub bench sfu` (and the command it runs: args.func)."""
    parser.set_defaults(func=cmd_bench_sfu)
    parser.add_argument("--sites", type=int, default=6, help="sites in the passthrough room")
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
        choices=("both", "passthrough", "mediarelay"),
        default="both",
        help="which media modes to measure",
    )


@dataclass(frozen=True)
class _Prepared:
    data_dir: Path
    secret_key: str
    hearing_id: int
    tokens_file: Path  # JSON list of join tokens, the chair's first


def _bench_settings(data_dir: Path, secret_key: str, mode: str) -> Any:
    from hub.config import Settings

    return Settings(
        data_dir=data_dir,
        secret_key=secret_key,
        ice_announced_ips=("127.0.0.1",),
        log_level="WARNING",
        media_mode=mode,
    )


async def _prepare(data_dir: Path, sites: int) -> _Prepared:
    """Migrate and seed a fresh database; a live hearing with `sites` seats and their tokens."""
    from sqlalchemy import select

    from hub.clock import now
    from hub.domain.hearings import HearingDraft, HearingKind, HearingStatus
    from hub.services import hearings
    from hub.services.auth import actor_for_user
    from hub.storage.db import Database
    from hub.storage.tables import OfficeRow, UserRow

    secret_key = secrets.token_urlsafe(32)
    settings = _bench_settings(data_dir, secret_key, "passthrough")
    await fresh_database(settings, secrets.token_urlsafe(12))
    db = Database.from_settings(settings)
    try:
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
                    title="SFU benchmark",
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
    finally:
        await db.close()
    tokens_file = data_dir / "tokens.json"
    tokens_file.write_text(json.dumps(tokens), encoding="utf-8")
    return _Prepared(data_dir, secret_key, hearing_id, tokens_file)


def _measure(mode: str, sites: int, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tcd-bench-sfu-") as tmp:
        prepared = asyncio.run(_prepare(Path(tmp), sites))
        return _measure_prepared(mode, sites, seconds, prepared)


def _measure_prepared(mode: str, sites: int, seconds: float, prepared: _Prepared) -> dict[str, Any]:
    hub = Child(
        "bench.sfu",
        [
            "--serve",
            "--media-mode",
            mode,
            "--data-dir",
            str(prepared.data_dir),
            "--secret-key-file",
            str(_write_secret(prepared)),
        ],
    )
    agents: Child | None = None
    try:
        port = int(hub.read()["port"])
        agents = Child(
            "bench.sfu",
            [
                "--agents",
                "--hub",
                f"http://127.0.0.1:{port}",
                "--hearing",
                str(prepared.hearing_id),
                "--tokens-file",
                str(prepared.tokens_file),
            ],
        )
        agents.read()  # all sites joined and admitted
        deadline = time.monotonic() + WARMUP_TIMEOUT
        while True:
            snap = agents.ask("snap")
            if _all_flowing(snap, minimum=30):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{mode}: media did not flow between all sites: {snap}")
            time.sleep(0.5)
        cpu0, agents_cpu0, t0 = (
            cpu_seconds(hub.pid),
            cpu_seconds(agents.pid),
            time.monotonic(),
        )
        hub0, first = hub.ask("stats"), agents.ask("snap")
        time.sleep(seconds)
        last, hub1 = agents.ask("snap"), hub.ask("stats")
        cpu1, agents_cpu1, t1 = (
            cpu_seconds(hub.pid),
            cpu_seconds(agents.pid),
            time.monotonic(),
        )
    finally:
        if agents is not None:
            agents.stop()
        hub.stop()
    wall = t1 - t0
    shares = []
    pairs: list[tuple[float, str, str]] = []
    for receiver, received in last["received"].items():
        for sender, count in received.items():
            if sender == receiver or sender not in last["sent"]:
                continue
            sent = last["sent"][sender] - first["sent"].get(sender, 0)
            got = count - first["received"].get(receiver, {}).get(sender, 0)
            if sent > 0:
                shares.append(min(1.0, got / sent))
                pairs.append((round(got / sent, 3), sender[:6], receiver[:6]))
    streams = sites * (sites - 1)
    cores = (cpu1 - cpu0) / wall
    return {
        "sites": sites,
        "forwarded_video_streams": streams,
        "hub_cpu_cores": round(cores, 4),
        "streams_per_core": round(streams / cores, 1) if cores > 0 else None,
        "min_frame_share": round(min(shares), 4) if shares else 0.0,
        "measured_seconds": round(wall, 2),
        "agents_cpu_cores": round((agents_cpu1 - agents_cpu0) / wall, 4),
        "sent_bitrate_bps": last.get("bitrate"),
        "mean_frame_share": round(sum(shares) / len(shares), 4) if shares else 0.0,
        "worst_pairs": sorted(pairs)[:3],
        # The hub's own count (RoomManager.stats()) over the measured seconds, beside the
        # agents' count above: passthrough only (MediaRelay forwards no encoded frames).
        "hub_rooms": {
            "forwarded_tracks": hub1["forwarded_tracks"],
            "frames_received": hub1["frames_received"] - hub0["frames_received"],
            "frames_forwarded": hub1["frames_forwarded"] - hub0["frames_forwarded"],
            "max_queue_depth": hub1["max_queue_depth"],
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
    """Run the benchmark; returns {"passthrough": {...}, "mediarelay": {...}, "ratio"}."""
    result: dict[str, Any] = {}
    if args.mode in ("both", "passthrough"):
        result["passthrough"] = _measure("passthrough", args.sites, args.seconds)
    if args.mode in ("both", "mediarelay"):
        result["mediarelay"] = _measure("mediarelay", args.relay_sites, args.seconds)
    if "passthrough" in result and "mediarelay" in result:
        fast = result["passthrough"]["streams_per_core"]
        slow = result["mediarelay"]["streams_per_core"]
        result["ratio"] = round(fast / slow, 1) if fast and slow else None
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


async def _serve(mode: str, data_dir: Path, secret_key: str) -> None:
    """The hub under test: the real create_app on the prepared database, on 127.0.0.1; each
    line on stdin is answered with the rooms' forwarding figures (RoomManager.stats())."""
    from bench.common import serve_app
    from hub.app import create_app
    from rooms import RoomManager
    from signaling.server import SIGNALING_KEY

    app = create_app(_bench_settings(data_dir, secret_key, mode))
    rooms = app[SIGNALING_KEY].rooms
    assert isinstance(rooms, RoomManager), "bench sfu measures rooms in the hub's own process"
    await serve_app(app, lambda: rooms.stats().as_dict())


async def _agents(hub_url: str, hearing_id: int, tokens: list[str]) -> None:
    """Site agents in this one process: the chair joins first and admits the others as they
    wait; all publish replayed VP8, count frames and answer 'snap'."""
    from signaling.site_agent import SiteAgent, encode_clip

    clip = encode_clip(seconds=3.0)
    agents = [SiteAgent(hub_url, t, hearing_id, clip=clip, audio=False) for t in tokens]
    chair = agents[0]
    try:
        for agent in agents:
            await agent.start()
            if agent.state == "waiting":
                reply = await chair.call("admit", {"participant_id": agent.participant_id})
                if not reply.get("ok"):
                    raise RuntimeError(f"the chair could not admit a site: {reply}")
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
        for agent in agents:
            with contextlib.suppress(Exception):
                await agent.close()


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.sfu`: the benchmark, or one of its child processes."""
    parser = argparse.ArgumentParser(prog="tcd-hub bench sfu")
    add_bench_sfu_arguments(parser)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--agents", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--hub", help=argparse.SUPPRESS)
    parser.add_argument("--media-mode", default="passthrough", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--secret-key-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--hearing", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tokens-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.serve:
        secret = args.secret_key_file.read_text(encoding="utf-8").strip()
        asyncio.run(_serve(args.media_mode, args.data_dir, secret))
    elif args.agents:
        tokens = json.loads(args.tokens_file.read_text(encoding="utf-8"))
        asyncio.run(_agents(args.hub, args.hearing, tokens))
    else:
        run_bench_sfu(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

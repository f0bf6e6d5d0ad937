"""`tcd-hub bench sfu`: forwarded streams per hub CPU core, passthrough against stock MediaRelay.

The hub runs in its own process (its CPU is read from /proc/<pid>/stat); the site agents run
together in another process, publish pre-encoded VP8 (encoded once, replayed) and count the
frames they receive without decoding, so the load generator stays light on a small machine.
Everything is on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import replace
from typing import Any

logger = logging.getLogger(__name__)

WARMUP_TIMEOUT = 30.0


def add_bench_sfu_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `tcd-hub bench sfu`."""
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


def _cpu_seconds(pid: int) -> float:
    """User+system CPU time of a process, from /proc (no psutil)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        stat = handle.read()
    fields = stat[stat.rindex(")") + 2 :].split()
    # Fields 14 and 15 of proc(5) (utime, stime) are at 11 and 12 after the command name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Child:
    """A child process speaking JSON lines on stdin/stdout."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hub.bench_sfu", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"bench child exited ({self.proc.poll()})")
            if line.startswith("{"):
                return dict(json.loads(line))

    def ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.read()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            assert self.proc.stdin is not None
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _measure(mode: str, sites: int, seconds: float) -> dict[str, Any]:
    hub = _Child(["--serve", "--media-mode", mode])
    agents: _Child | None = None
    try:
        port = int(hub.read()["port"])
        agents = _Child(["--agents", "--hub", f"http://127.0.0.1:{port}", "--sites", str(sites)])
        agents.read()  # all sites joined
        deadline = time.monotonic() + WARMUP_TIMEOUT
        while True:
            snap = agents.ask("snap")
            if _all_flowing(snap, minimum=30):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{mode}: media did not flow between all sites: {snap}")
            time.sleep(0.5)
        cpu0, agents_cpu0, t0 = (
            _cpu_seconds(hub.proc.pid),
            _cpu_seconds(agents.proc.pid),
            time.monotonic(),
        )
        first = agents.ask("snap")
        time.sleep(seconds)
        last = agents.ask("snap")
        hub_stats = hub.ask("stats") if os.environ.get("TCD_BENCH_DEBUG") else None
        cpu1, agents_cpu1, t1 = (
            _cpu_seconds(hub.proc.pid),
            _cpu_seconds(agents.proc.pid),
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
        **({"hub_stats": hub_stats} if hub_stats else {}),
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


async def _serve(mode: str) -> None:
    """The hub under test: signaling + rooms on 127.0.0.1 with a bench-only gateway."""
    from aiohttp import web

    from hub.config import Settings
    from hub.services.live import HearingAccess, LiveGateway, Principal
    from rooms import RoomManager
    from signaling.server import media_options, setup_signaling

    class BenchGateway(LiveGateway):
        """Tokens bench-<n> for office n, one live hearing (id 1); nothing is stored."""

        async def authenticate(self, token: str) -> Principal:
            office = int(token.removeprefix("bench-"))
            return Principal(
                office, f"site{office}", f"Site {office}", "site", office, f"Site {office}"
            )

        async def admit(self, principal: Principal, hearing_id: int) -> HearingAccess:
            return HearingAccess(hearing_id, "Benchmark", "live", 1)

        async def record(self, hearing_id: int, kind: str, **kwargs: Any) -> None:
            return None

    settings = Settings(ice_announced_ips=("127.0.0.1",), log_level="WARNING")
    app = web.Application()
    server = setup_signaling(app, settings, BenchGateway())
    server.rooms = RoomManager(server.gateway, replace(media_options(settings), mode=mode))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(json.dumps({"port": port}), flush=True)
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line or line.strip() == "quit":
                return
            print(json.dumps(_room_stats(server.rooms)), flush=True)
    finally:
        await runner.cleanup()


def _room_stats(rooms: Any) -> dict[str, Any]:
    """Forwarding counters of every room (for diagnosing a run)."""
    out: dict[str, Any] = {}
    for hearing_id, room in rooms._rooms.items():
        for participant in room.participants.values():
            for kind, publication in participant.publications.items():
                out[f"{hearing_id}/{participant.id[:6]}/{kind}"] = {
                    "frames": publication.frames,
                    "plis": publication.keyframe_requests_sent,
                    "subs": [
                        [s.frames, s.waiting_keyframe, s.track._queue.qsize()]
                        for s in publication.subscriptions
                    ],
                }
    return out


async def _agents(hub_url: str, sites: int) -> None:
    """N site agents in this one process: publish replayed VP8, count frames, answer 'snap'."""
    from signaling.site_agent import SiteAgent, encode_clip

    clip = encode_clip(seconds=3.0)
    agents = [
        SiteAgent(hub_url, f"bench-{n}", 1, clip=clip, audio=False) for n in range(1, sites + 1)
    ]
    try:
        for agent in agents:
            await agent.start()
        print(json.dumps({"joined": sites}), flush=True)
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
    """`python -m hub.bench_sfu`: the benchmark, or one of its child processes."""
    parser = argparse.ArgumentParser(prog="tcd-hub bench sfu")
    add_bench_sfu_arguments(parser)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--agents", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--hub", help=argparse.SUPPRESS)
    parser.add_argument("--media-mode", default="passthrough", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.serve:
        asyncio.run(_serve(args.media_mode))
    elif args.agents:
        asyncio.run(_agents(args.hub, args.sites))
    else:
        run_bench_sfu(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

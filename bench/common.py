"""What the benchmarks share: a fresh demo database, the hub in a child process speaking JSON
lines, a redis-server of their own, and the clocks and percentiles their figures are made of."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web

    from hub.config import Settings


async def fresh_database(settings: Settings, password: str) -> None:
    """Migrate an empty database and load the demo offices and accounts into it."""
    from hub.seed import seed_demo
    from hub.storage.migrate import upgrade

    await upgrade(settings)
    await seed_demo(settings, password=password)


class Child:
    """`python -m MODULE ARGS...`: a child process answering JSON lines on stdin/stdout.

    Benchmarks run the hub and their load in processes of their own, so the hub's CPU time can
    be read from /proc and the load generator does not share its event loop.
    """

    def __init__(self, module: str, args: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            env={**os.environ, **env} if env else None,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.proc.pid

    def read(self) -> dict[str, Any]:
        """The child's next JSON line (other output is skipped)."""
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"bench child exited ({self.proc.poll()})")
            if line.startswith("{"):
                return dict(json.loads(line))

    def ask(self, command: str) -> dict[str, Any]:
        """Send one command line; its JSON answer."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.read()

    def stop(self) -> None:
        """Ask the child to quit; kill it if it has not within 15 s."""
        with contextlib.suppress(Exception):
            assert self.proc.stdin is not None
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


Answer = Callable[[], "dict[str, Any] | Awaitable[dict[str, Any]]"]


async def serve_app(
    app: web.Application,
    answer: Answer,
    *,
    ready: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """The child's side of Child: serve `app` on 127.0.0.1:0, await ready() (say, until its
    media workers are up) and print {"port": P}, then answer each line read from stdin with
    answer()'s JSON (awaited if it is a coroutine), until "quit" or the end of stdin."""
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        if ready is not None:
            await ready()
        print(json.dumps({"port": runner.addresses[0][1]}), flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line or line.strip() == "quit":
                return
            figures = answer()
            if inspect.isawaitable(figures):
                figures = await figures
            print(json.dumps(figures), flush=True)
    finally:
        await runner.cleanup()


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of a process, from /proc (no psutil)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        stat = handle.read()
    fields = stat[stat.rindex(")") + 2 :].split()
    # Fields 14 and 15 of proc(5) (utime, stime) are at 11 and 12 after the command name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: list[float], share: float) -> float:
    """The nearest-rank percentile of an ascending list (share 0.95 for p95)."""
    return sorted_values[max(0, math.ceil(share * len(sorted_values)) - 1)]


def machine_load() -> float:
    """The one-minute load average: other work on the machine shows up in wall times."""
    return round(os.getloadavg()[0], 2)


class RedisServer:
    """A redis-server of the benchmark's own on a free loopback port, in a scratch directory,
    persisting nothing; stop() ends it."""

    def __init__(self, workdir: Path) -> None:
        exe = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/sbin")
        if exe is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        for _attempt in range(3):
            self.port = _free_port()
            self.proc = subprocess.Popen(
                [
                    exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", str(workdir),
                    "--logfile", str(workdir / "redis.log"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            deadline = time.monotonic() + 10
            while self.proc.poll() is None and time.monotonic() < deadline:
                if _redis_answers(self.port):
                    return
                time.sleep(0.05)
            self.stop()
        raise RuntimeError(f"redis-server did not start; see {workdir / 'redis.log'}")

    @property
    def url(self) -> str:
        """redis://127.0.0.1:PORT/0"""
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        """Terminate it (kill after 5 s)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False

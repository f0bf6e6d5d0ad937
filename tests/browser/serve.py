"""`tcd-hub serve` in a process of its own for browser tests: one node, or several sharing a
database and a redis-server (the browsers' timings then leave out this test process's work)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

import pytest

from hub.config import Settings
from hub.seed import seed_demo
from hub.storage.migrate import upgrade
from tests.fixtures_hub import HubServer
from tests.fixtures_net import free_port, port_open, wait_until


def hub_settings(data_dir: Path) -> Settings:
    """The settings every browser-test hub shares (the nodes read the same through TCD_*)."""
    return Settings(
        data_dir=data_dir, secret_key="tcd-hub-test-secret", ice_announced_ips=("127.0.0.1",)
    )


async def prepare(settings: Settings) -> None:
    """Migrate and seed the demo data once, before any node serves it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await upgrade(settings)
    await seed_demo(settings, password="demo")


def _spawn(argv: list[str], env: dict[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "serve", *argv], env=env, stdout=log, stderr=log
    )


@contextlib.asynccontextmanager
async def served(
    settings: Settings,
    logs: Path,
    *,
    env: dict[str, str] | None = None,
    argv: tuple[str, ...] = (),
    port: int | None = None,
    host: str = "127.0.0.1",
) -> AsyncIterator[HubServer]:
    """One `tcd-hub serve` on a free port of `host` (loopback by default; a network
    namespace's veth address for a site behind a network the test breaks), or on `port`: a hub
    restarted where its clients look for it, over settings' (prepared) data dir. Its SFU
    announces `host` in its ICE candidates."""
    wanted = port
    for _attempt in range(3):
        port = wanted or free_port()
        node_env = {
            **os.environ,
            "TCD_DATA_DIR": str(settings.data_dir),
            "TCD_HOST": host,
            "TCD_PORT": str(port),
            "TCD_SECRET_KEY": settings.secret_key,
            "TCD_ICE_ANNOUNCED_IPS": host,
            "TCD_LOG_LEVEL": os.environ.get("TCD_TEST_HUB_LOG_LEVEL", "WARNING"),
            **(env or {}),
        }
        log = (logs / f"hub-{port}.log").open("ab")  # a restarted hub appends
        proc = await asyncio.to_thread(_spawn, list(argv), node_env, log)
        up = await asyncio.to_thread(
            wait_until,
            lambda p=proc, n=port: p.poll() is not None or port_open(host, n),  # type: ignore[misc]
            30,
        )
        if up and proc.poll() is None:
            break
        proc.kill()
        proc.wait()
        log.close()
    else:
        pytest.fail(f"the hub process did not start; see hub-*.log in {logs}")
    try:
        yield HubServer(url=f"http://{host}:{port}", port=port, settings=settings, app=None)
    finally:
        proc.terminate()
        try:
            await asyncio.to_thread(proc.wait, 10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()

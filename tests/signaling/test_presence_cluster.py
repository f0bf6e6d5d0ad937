"""Two hub nodes sharing one Redis show operators one board: node A is a real `tcd-hub serve`
process (so that it can be killed), node B the hub on an ephemeral port in this process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fixtures_hub import HubFactory
from tests.fixtures_net import free_port, port_open, wait_until
from tests.signaling.live_hub import Client, Rest, wait_for

pytestmark = pytest.mark.timeout(120)

TTL = 2.0
# A node in its own process and its base URL.
Node = tuple[subprocess.Popen[bytes], str]


def _serve(database_url: str, redis_url: str, data_dir: Path) -> Node:
    """`tcd-hub serve` on a free port, sharing the database, Redis and secret of node B."""
    env = {
        **os.environ,
        "TCD_SECRET_KEY": "tcd-hub-test-secret",
        "TCD_PRESENCE_TTL_SECONDS": str(TTL),
        "TCD_DATA_DIR": str(data_dir),
        "TCD_LOG_LEVEL": "WARNING",
    }
    for _attempt in range(3):
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "hub.cli", "serve",
                "--host", "127.0.0.1", "--port", str(port),
                "--database-url", database_url, "--redis-url", redis_url,
                "--announced-ip", "127.0.0.1",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        if _answers(proc, port):
            return proc, f"http://127.0.0.1:{port}"
    raise AssertionError(f"tcd-hub serve did not start (exit {proc.returncode})")


def _answers(proc: subprocess.Popen[bytes], port: int) -> bool:
    wait_until(lambda: proc.poll() is not None or port_open("127.0.0.1", port), timeout=30)
    return proc.poll() is None


@pytest.fixture
def node_a_factory(tmp_path: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(database_url: str, redis_url: str) -> Node:
        proc, url = _serve(database_url, redis_url, tmp_path / f"node{len(procs)}")
        procs.append(proc)
        return proc, url

    try:
        yield start
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _of(client: Client, office_id: int) -> list[dict[str, Any]]:
    return [s for s in client.of("site_status") if s["office_id"] == office_id]


def _online(client: Client, office_id: int) -> bool | None:
    """Whether the office's last status the client received says online (None: none yet)."""
    found = _of(client, office_id)
    return bool(found[-1]["online"]) if found else None


async def test_a_site_on_node_a_is_on_node_bs_board_and_leaves_it_with_node_a(
    hub_server: HubFactory, redis_url: str, node_a_factory: Any
) -> None:
    hub_b = await hub_server(redis_url=redis_url, presence_ttl_seconds=TTL)
    node_a, url_a = node_a_factory(hub_b.settings.effective_database_url, redis_url)
    clients: list[Client] = []

    async def connect(url: str, token: str) -> Client:
        clients.append(await Client().connect(url, token))
        return clients[-1]

    async with aiohttp.ClientSession() as session:
        rest = Rest(hub_b.url, session)
        offices = await rest.offices(await rest.login("staff"))
        hy, bg = offices["HY"], offices["BG"]
        hy_token = (await rest.login("staff.hungyen")).token
        bg_token = (await rest.login("staff.bacgiang")).token
        central = await connect(hub_b.url, (await rest.login("operator")).token)
        province_token = (await rest.login("operator.hungyen")).token
        try:
            assert (await central.call("watch_sites")) == {"ok": True, "sites": []}
            hy_site = await connect(url_a, hy_token)
            await connect(url_a, bg_token)
            await wait_for(
                lambda: bool(_of(central, hy)) and bool(_of(central, bg)),
                what="node A's sites on node B's board",
            )
            # A watcher arriving later on B gets them in its snapshot, within its scope only.
            province = await connect(hub_b.url, province_token)
            snapshot = await province.call("watch_sites")
            assert [(s["office_id"], s["online"]) for s in snapshot["sites"]] == [(hy, True)]
            later = await (await connect(hub_b.url, (await rest.login("operator")).token)).call(
                "watch_sites"
            )
            assert [s["office_id"] for s in later["sites"]] == sorted([hy, bg])
            assert all(s["online"] and s["hearing_id"] is None for s in later["sites"])

            # The site's disconnect on A reaches B's operators within a second.
            started = time.monotonic()
            await hy_site.close()
            await wait_for(lambda: _online(province, hy) is False, within=1.0, what="offline on B")
            assert time.monotonic() - started < 1.0
            assert _online(central, hy) is False
            assert not _of(province, bg)

            # Back on A; then A is killed: its sites go offline once its heartbeat runs out.
            await connect(url_a, hy_token)
            await wait_for(lambda: _online(central, hy) is True, what="back online")
            node_a.send_signal(signal.SIGKILL)
            node_a.wait()
            killed = time.monotonic()
            await wait_for(
                lambda: _online(central, hy) is False and _online(central, bg) is False,
                within=3 * TTL,
                what="the killed node's sites offline",
            )
            # Not the sockets closing (B never saw them): the heartbeat A last sent at most a
            # third of the TTL before it died.
            assert time.monotonic() - killed >= TTL / 2
            assert _online(province, hy) is False
            after = await (await connect(hub_b.url, province_token)).call("watch_sites")
            assert [(s["office_id"], s["online"]) for s in after["sites"]] == [(hy, False)]
        finally:
            for client in clients:
                await client.close()

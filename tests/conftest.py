"""Shared fixtures: a real redis-server and PostgreSQL of the session's own on free ports, fresh
databases, and the hub on port 0."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from tests.fixtures_hub import HubFactory, HubServer, start_hub
from tests.fixtures_net import free_port, redis_answers, wait_until
from tests.fixtures_netns import network  # noqa: F401 (a fixture: a site's own network)
from tests.fixtures_postgres import (
    PostgresServer,
    PostgresUnavailable,
    create_database,
    drop_database,
    start_postgres,
)
from tests.fixtures_teardown import bounded

if TYPE_CHECKING:
    from aiohttp import web


def _unavailable(reason: str) -> NoReturn:
    """Skip locally, but fail under CI, where `make test` has installed everything."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


# --- Redis ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of the test session's own on a free port; yields redis://127.0.0.1:P/0."""
    exe = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/sbin:/usr/bin")
    if exe is None:
        _unavailable("redis-server is not installed (`make test` installs it when run as root)")
    workdir = tmp_path_factory.mktemp("redis")
    # The port can be taken between choosing and binding it, so try a few.
    for _attempt in range(3):
        port = free_port()
        proc = _launch_redis(exe, workdir, port)
        if proc is not None:
            break
    else:
        log = workdir / f"redis-{port}.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
        pytest.fail(f"redis-server did not start; its log ends:\n{tail}", pytrace=False)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(proc)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's redis-server, emptied for this test: no presence, sign-in counts or
    Socket.IO state left by an earlier one (the operators' snapshot is read from Redis)."""
    import redis

    client = redis.Redis.from_url(redis_server)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_server


class OwnRedis:
    """A redis-server of one test's own, which the test may restart: on the same port, empty,
    as a Redis without persistence comes back."""

    def __init__(self, exe: str, workdir: Path, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.exe, self.workdir, self.port, self.proc = exe, workdir, port, proc

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def restart(self) -> None:
        """Stop it and start it again on its port."""
        _stop(self.proc)
        proc = _launch_redis(self.exe, self.workdir, self.port)
        if proc is None:
            pytest.fail(f"redis-server did not start again on port {self.port}", pytrace=False)
        self.proc = proc


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    """A redis-server for this test alone (see OwnRedis)."""
    exe = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/sbin:/usr/bin")
    if exe is None:
        _unavailable("redis-server is not installed (`make test` installs it when run as root)")
    for _attempt in range(3):
        port = free_port()
        proc = _launch_redis(exe, tmp_path, port)
        if proc is not None:
            break
    else:
        pytest.fail("redis-server did not start", pytrace=False)
    server = OwnRedis(exe, tmp_path, port, proc)
    try:
        yield server
    finally:
        _stop(server.proc)


def _launch_redis(exe: str, workdir: Path, port: int) -> subprocess.Popen[bytes] | None:
    """Start redis-server on port; the process once it answers PING, None if it did not."""
    proc = subprocess.Popen(
        [
            exe,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(workdir),
            "--logfile", str(workdir / f"redis-{port}.log"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_until(lambda: proc.poll() is not None or redis_answers(port), timeout=10)
    if proc.poll() is None and redis_answers(port):
        return proc
    _stop(proc)
    return None


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test session's own (initdb in a temporary folder, a free port).

    Skips locally, and fails under CI, when PostgreSQL is not installed or does not start."""
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        _unavailable(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database, dropped afterwards; yields its asyncpg URL."""
    name, url = create_database(postgres_server, "tcd_test")
    try:
        yield url
    finally:
        drop_database(postgres_server, name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh empty database URL on each storage back end (SQLite file, PostgreSQL database)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'tcd-hub-test.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


# --- the hub -----------------------------------------------------------------------------------


@pytest.fixture
async def hub_server(tmp_path: Path) -> AsyncIterator[HubFactory]:
    """A factory that starts hubs on ephemeral ports and stops them all after the test.

    `await hub_server(**overrides)` migrates and seeds a fresh SQLite database under tmp_path
    (or the given database_url), then serves `create_app(settings)`. A second hub sharing the
    first's database and Redis passes `prepare_db=False`.
    """
    from hub.config import Settings

    runners: list[web.AppRunner] = []

    async def start(*, prepare_db: bool = True, **overrides: Any) -> HubServer:
        base = Settings(
            data_dir=tmp_path / f"hub{len(runners)}",
            # Fixed, so hubs of one test accept each other's tokens.
            secret_key="tcd-hub-test-secret",
            ice_announced_ips=("127.0.0.1",),
        )
        server, runner = await start_hub(base.with_overrides(**overrides), prepare_db=prepare_db)
        runners.append(runner)
        return server

    try:
        yield start
    finally:
        for runner in reversed(runners):
            await bounded(runner.cleanup(), 60, "the hub's shutdown")


# --- reporting -----------------------------------------------------------------------------------


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """List every skipped test with its reason, so a skip is never mistaken for a pass."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    terminalreporter.section(f"{len(skipped)} skipped test(s), and why", sep="-", yellow=True)
    for report in skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        terminalreporter.line(f"SKIPPED {report.nodeid}: {reason}", yellow=True)

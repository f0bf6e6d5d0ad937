"""A PostgreSQL server of the test session's own: initdb in a temporary folder, postgres on a
free loopback port, trust authentication for its one superuser, removed afterwards.

Debian keeps the server's programs off PATH (/usr/lib/postgresql/<version>/bin), and PostgreSQL
refuses to run as root, so as root the server runs as the `postgres` system user (or `nobody`).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.fixtures_net import free_port, port_open, wait_until

SUPERUSER = "postgres"
# Throwaway data: durability is not wanted, speed is.
FAST = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class PostgresUnavailable(Exception):
    """PostgreSQL is not installed here, or could not be started (the message says why)."""


def server_programs() -> Path:
    """The folder holding initdb and postgres: beside initdb on PATH, else Debian's newest."""
    on_path = shutil.which("initdb")
    if on_path:
        folder = Path(on_path).resolve().parent
        if (folder / "postgres").exists():
            return folder
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.parent.name)],
    )
    if not found:
        raise PostgresUnavailable(
            "PostgreSQL is not installed (no initdb); `make test` installs the Debian package "
            "postgresql when run as root"
        )
    return found[-1].parent


def _account() -> tuple[list[str], int, int]:
    """The command prefix that drops root (empty when not root), and the uid and gid used."""
    if os.geteuid() != 0:
        return [], os.getuid(), os.getgid()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise PostgresUnavailable("running as root and setpriv (util-linux) is missing")
    for name in (SUPERUSER, "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        # setpriv execs in place, so the process we start is the server itself and our signal
        # reaches it directly.
        prefix = [setpriv, f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups"]
        return [*prefix, "--"], entry.pw_uid, entry.pw_gid
    raise PostgresUnavailable("running as root and there is no postgres or nobody user")


@dataclass
class PostgresServer:
    """One running server: connect as SUPERUSER to 127.0.0.1:port without a password."""

    port: int
    folder: Path
    process: subprocess.Popen[bytes]
    host: str = "127.0.0.1"
    user: str = SUPERUSER

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        """The URL of one of its databases."""
        return f"{driver}://{self.user}@{self.host}:{self.port}/{database}"

    def log_tail(self) -> str:
        """The end of the server's log, for failure messages."""
        log = self.folder / "postgres.log"
        return log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"

    def stop(self) -> None:
        """Fast shutdown (SIGINT: sessions are cut, nothing is waited for), then remove."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_postgres(attempts: int = 3) -> PostgresServer:
    """initdb a fresh cluster and start it on a free port; PostgresUnavailable if it cannot."""
    programs = server_programs()
    prefix, uid, gid = _account()
    # Not under pytest's tmp_path: that folder is private to root and the server may not be.
    folder = Path(tempfile.mkdtemp(prefix="tcd-pg-"))
    try:
        os.chown(folder, uid, gid)
        data = folder / "data"
        done = subprocess.run(
            [
                *prefix,
                str(programs / "initdb"),
                "--pgdata", str(data),
                "--username", SUPERUSER,
                "--auth", "trust",
                "--encoding", "UTF8",
                "--locale", "C.UTF-8",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            raise PostgresUnavailable(f"initdb failed:\n{done.stdout[-1500:]}{done.stderr[-1500:]}")
        problems: list[str] = []
        # The port can be taken between choosing and binding it, so try a few.
        for _attempt in range(attempts):
            server = _launch(prefix, programs, folder, data, free_port())
            if server is not None:
                return server
            problems.append((folder / "postgres.log").read_text(errors="replace")[-1500:])
        raise PostgresUnavailable("postgres did not start; its log ends:\n" + problems[-1])
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _launch(
    prefix: list[str], programs: Path, folder: Path, data: Path, port: int
) -> PostgresServer | None:
    """Start postgres on port; the server once it accepts connections, None if it did not."""
    settings = ["listen_addresses=127.0.0.1", f"unix_socket_directories={data}", *FAST]
    with open(folder / "postgres.log", "wb") as log:
        process = subprocess.Popen(
            [
                *prefix,
                str(programs / "postgres"),
                "-D", str(data),
                "-p", str(port),
                *(arg for setting in settings for arg in ("-c", setting)),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = PostgresServer(port, folder, process)
    wait_until(lambda: process.poll() is not None or _ready(server), timeout=60, interval=0.1)
    if process.poll() is None and _ready(server):
        return server
    if process.poll() is None:
        process.kill()
        process.wait()
    return None


def _ready(server: PostgresServer) -> bool:
    """Accepting connections and past start-up: the log says so once recovery is done."""
    if not port_open(server.host, server.port, timeout=0.5):
        return False
    log = server.folder / "postgres.log"
    return "database system is ready to accept connections" in log.read_text(errors="replace")


def run_sql(server: PostgresServer, sql: str) -> None:
    """Run one statement as the superuser, from a thread of its own (fixtures are sync)."""

    async def go() -> None:
        import asyncpg

        conn = await asyncpg.connect(server.url("postgres", driver="postgresql"), timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, go()).result()


def create_database(server: PostgresServer, prefix: str) -> tuple[str, str]:
    """A new, uniquely named database on the server: (its name, its asyncpg URL)."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    run_sql(server, f'CREATE DATABASE "{name}"')
    return name, server.url(name)


def drop_database(server: PostgresServer, name: str) -> None:
    """Drop a database, cutting any connection a test forgot to close (FORCE)."""
    run_sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

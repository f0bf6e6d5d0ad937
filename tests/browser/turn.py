"""A coturn TURN server of the test's own on loopback: the `turn_server` fixture.

coturn is started from the command line only (`-n`, no config file, no CLI, no TLS/DTLS), with
one long-term credential, on a free UDP/TCP port of 127.0.0.1 and a small relay port range, and
logs to a file under the test's tmp_path so a test can check that allocations happened.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from tests.fixtures_net import free_port, wait_until

TURN_USERNAME = "tcd"
TURN_PASSWORD = "secret"
TURN_REALM = "tcd-hub"
# Relay endpoints: a few ports are plenty for one browser and one hub on loopback.
RELAY_PORTS = 40
START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class TurnServer:
    """A running turnserver: where it listens, its credential, and its log file."""

    host: str
    port: int
    username: str
    password: str
    realm: str
    relay_ports: tuple[int, int]
    log_path: Path

    @property
    def url(self) -> str:
        return f"turn:{self.host}:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def relay_session(self, relay_port: int) -> list[str]:
        """The log lines of the TURN session whose relayed address is 127.0.0.1:relay_port.

        With --verbose coturn logs "Local relay addr: IP:PORT" just before that allocation's
        "session N: new, ..." line; every later line of session N is returned.
        """
        lines = self.log().splitlines()
        marker = f"Local relay addr: {self.host}:{relay_port}"
        for index, line in enumerate(lines):
            if line.rstrip().endswith(marker):
                for later in lines[index + 1 : index + 6]:
                    found = re.search(r"session (\d+): new,", later)
                    if found:
                        prefix = f"session {found.group(1)}:"
                        return [x for x in lines[index + 1 :] if prefix in x]
        return []

    def successful_allocations(self) -> list[str]:
        """The log lines of ALLOCATE requests coturn granted (with the user and realm)."""
        return [
            line
            for line in self.log().splitlines()
            if "ALLOCATE processed, success" in line and f"user <{self.username}>" in line
        ]


def _unavailable(reason: str) -> NoReturn:
    """Skip locally, but fail under CI, where `make test` has installed everything."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def stun_answers(host: str, port: int, timeout: float = 0.3) -> bool:
    """Whether a STUN server on host:port (UDP) answers a Binding request (RFC 5389)."""
    transaction = os.urandom(12)
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + transaction
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(request, (host, port))
            reply = sock.recv(2048)
        except OSError:
            return False
    # A Binding success response (0x0101) echoing our transaction id.
    return reply[:2] == b"\x01\x01" and reply[8:20] == transaction


def _launch(exe: str, workdir: Path, port: int, relay: tuple[int, int]) -> subprocess.Popen[bytes]:
    log_path = workdir / f"turn-{port}.log"
    return subprocess.Popen(
        [
            exe,
            "-n",  # no configuration file: everything is on this command line
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            f"--listening-port={port}",
            f"--min-port={relay[0]}",
            f"--max-port={relay[1]}",
            "--allow-loopback-peers",  # the hub's candidates are on 127.0.0.1
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--no-rfc5780",
            "--lt-cred-mech",
            f"--user={TURN_USERNAME}:{TURN_PASSWORD}",
            f"--realm={TURN_REALM}",
            f"--log-file={log_path}",
            "--simple-log",  # exactly that file name, no date suffix or rollover
            "--no-stdout-log",
            "--verbose",  # session and ALLOCATE lines, which the test looks for
            f"--pidfile={workdir / f'turn-{port}.pid'}",
            f"--db={workdir / 'turndb'}",  # not /var/lib/turn/turndb
            "--relay-threads=0",  # one thread is plenty here, and spares the small machine's CPU
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def turn_server(tmp_path: Path) -> Iterator[TurnServer]:
    """coturn on 127.0.0.1:<free port>, answering STUN before it is handed out; stopped after."""
    exe = shutil.which("turnserver") or shutil.which("turnserver", path="/usr/sbin:/usr/bin")
    if exe is None:
        _unavailable("turnserver (coturn) is not installed (`apt-get install coturn`)")
    workdir = tmp_path / "turn"
    workdir.mkdir()
    # The ports can be taken between choosing and binding them, so try a few.
    for _attempt in range(3):
        port = free_port()
        low = random.randrange(42000, 60000 - RELAY_PORTS)
        relay = (low, low + RELAY_PORTS - 1)
        proc = _launch(exe, workdir, port, relay)
        wait_until(
            lambda: proc.poll() is not None or stun_answers("127.0.0.1", port),  # noqa: B023
            timeout=START_TIMEOUT_S,
        )
        if proc.poll() is None and stun_answers("127.0.0.1", port):
            break
        _stop(proc)
    else:
        log = workdir / f"turn-{port}.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
        pytest.fail(f"turnserver did not start; its log ends:\n{tail}", pytrace=False)
    server = TurnServer(
        host="127.0.0.1",
        port=port,
        username=TURN_USERNAME,
        password=TURN_PASSWORD,
        realm=TURN_REALM,
        relay_ports=relay,
        log_path=workdir / f"turn-{port}.log",
    )
    try:
        yield server
    finally:
        _stop(proc)

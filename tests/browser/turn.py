"""A coturn TURN server of the test's own on loopback: the `turn_server` fixture.

coturn is started from the command line only (`-n`, no config file, no CLI, no DTLS) in its
REST-API mode (`use-auth-secret` with a `static-auth-secret`: it accepts the time-limited
credentials the hub issues, and no static user), on a free UDP/TCP port of 127.0.0.1, TLS on
another one with a certificate made for the test, and a small relay port range; it logs to a
file under the test's tmp_path so a test can check which allocations it granted or refused.
"""

from __future__ import annotations

import base64
import os
import random
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import NoReturn

import pytest

from tests.fixtures_net import free_port, port_open, wait_until

TURN_SECRET = "coturn-static-auth-secret-for-tests"
TURN_REALM = "tcd-hub"
# Relay endpoints: a few ports are plenty for one browser and one hub on loopback.
RELAY_PORTS = 40
START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class TurnServer:
    """A running turnserver: where it listens, its shared secret, and its log file."""

    host: str
    port: int  # UDP and TCP
    tls_port: int
    secret: str
    realm: str
    relay_ports: tuple[int, int]
    log_path: Path
    cert_path: Path  # the TLS listener's self-signed certificate (PEM), for a client to trust

    @property
    def spki_sha256(self) -> str:
        """base64 SHA-256 of the certificate's public key (what Chromium's
        --ignore-certificate-errors-spki-list takes)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization

        cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
        spki = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        digest = hashes.Hash(hashes.SHA256())
        digest.update(spki)
        return base64.b64encode(digest.finalize()).decode("ascii")

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

    def successful_allocations(self, username: str) -> list[str]:
        """The log lines of ALLOCATE requests coturn granted to `username`."""
        return [
            line
            for line in self.log().splitlines()
            if "ALLOCATE processed, success" in line and f"user <{username}>" in line
        ]

    def refusals(self, username: str) -> list[str]:
        """The log lines of requests by `username` that coturn refused as unauthorised."""
        return [
            line
            for line in self.log().splitlines()
            if f"user <{username}>" in line and "error 401" in line
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


def _make_certificate(workdir: Path, host: str) -> tuple[Path, Path]:
    """A self-signed certificate for `host` (an IP address) and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ip_address(host))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = workdir / "turn-cert.pem", workdir / "turn-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _launch(
    exe: str,
    workdir: Path,
    ports: tuple[int, int],
    relay: tuple[int, int],
    tls_files: tuple[Path, Path],
) -> subprocess.Popen[bytes]:
    port, tls_port = ports
    log_path = workdir / f"turn-{port}.log"
    return subprocess.Popen(
        [
            exe,
            "-n",  # no configuration file: everything is on this command line
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            f"--listening-port={port}",
            f"--tls-listening-port={tls_port}",
            f"--cert={tls_files[0]}",
            f"--pkey={tls_files[1]}",
            f"--min-port={relay[0]}",
            f"--max-port={relay[1]}",
            "--allow-loopback-peers",  # the hub's candidates are on 127.0.0.1
            "--no-cli",
            "--no-dtls",
            "--no-rfc5780",
            # The TURN REST API: time-limited credentials signed with this shared secret.
            "--use-auth-secret",
            f"--static-auth-secret={TURN_SECRET}",
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
    tls_files = _make_certificate(workdir, "127.0.0.1")
    # The ports can be taken between choosing and binding them, so try a few.
    for _attempt in range(3):
        port, tls_port = free_port(), free_port()
        low = random.randrange(42000, 60000 - RELAY_PORTS)
        relay = (low, low + RELAY_PORTS - 1)
        proc = _launch(exe, workdir, (port, tls_port), relay, tls_files)

        def ready(
            proc: subprocess.Popen[bytes] = proc, ports: tuple[int, int] = (port, tls_port)
        ) -> bool:
            return proc.poll() is not None or (
                stun_answers("127.0.0.1", ports[0]) and port_open("127.0.0.1", ports[1])
            )

        wait_until(ready, timeout=START_TIMEOUT_S)
        if proc.poll() is None and ready():
            break
        _stop(proc)
    else:
        log = workdir / f"turn-{port}.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
        pytest.fail(f"turnserver did not start; its log ends:\n{tail}", pytrace=False)
    server = TurnServer(
        host="127.0.0.1",
        port=port,
        tls_port=tls_port,
        secret=TURN_SECRET,
        realm=TURN_REALM,
        relay_ports=relay,
        log_path=workdir / f"turn-{port}.log",
        cert_path=tls_files[0],
    )
    try:
        yield server
    finally:
        _stop(proc)

"""The deployment's edge run for real on loopback: deploy/make-certs.sh's certificates, nginx
with deploy/nginx/tcd-hub.conf and coturn with deploy/coturn/turnserver.conf.

Each configuration is run as written, with only what this machine must differ in replaced:
compose's service names by 127.0.0.1 and free ports, the container paths by the test's folder.
Every replacement must find its text, so a changed file fails here instead of being tested in a
form nobody deploys. Also a minimal STUN/TURN client over TLS (aioice's message codec) to speak
to coturn through nginx's port 443 with the name a browser would send.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import shutil
import socket
import ssl
import subprocess
from dataclasses import dataclass
from hashlib import md5
from pathlib import Path
from typing import NoReturn

import pytest
from aioice import stun

from tests.deploy_files import COTURN_CONF, MAKE_CERTS, NGINX_CONF
from tests.fixtures_net import free_port, port_open, wait_until

HUB_NAME = "hub.tcd.test"
TURN_NAME = "turn.tcd.test"
STREAM_MODULE = "ngx_stream_module.so"
START_TIMEOUT_S = 10.0
# RFC 8656 REQUESTED-TRANSPORT: UDP.
UDP_TRANSPORT = 0x11000000


def unavailable(reason: str) -> NoReturn:
    """Skip locally, but fail under CI, where `make test` has installed everything."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def find_program(name: str, package: str) -> str:
    """A program on PATH or in /usr/sbin, else skip (fail under CI) naming the package."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        unavailable(f"{name} is not installed (`make test` installs {package} when run as root)")
    return found


def replaced(text: str, replacements: list[tuple[str, str]], source: Path) -> str:
    """text with each (old, new) replaced, all in one pass over the original: a new text is
    never searched again (a free port 53506 put in for 8443 holds "5350", another old text).
    An old text that is not there fails the test."""
    table = dict(replacements)
    for old in table:
        assert old in text, f"{source.relative_to(source.parents[2])} no longer has {old!r}"
    pattern = re.compile("|".join(re.escape(old) for old in sorted(table, key=len, reverse=True)))
    return pattern.sub(lambda match: table[match.group(0)], text)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- certificates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certs:
    """What deploy/make-certs.sh wrote: the server's chain and key, and the CA to trust."""

    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    def client_context(self, alpn: list[str] | None) -> ssl.SSLContext:
        """A client trusting only this CA, offering alpn as a browser (or TURN client) would."""
        context = ssl.create_default_context(cafile=str(self.ca))
        if alpn:
            context.set_alpn_protocols(alpn)
        return context


def make_certs(directory: Path) -> Certs:
    """Run deploy/make-certs.sh as the README says, into directory."""
    if shutil.which("openssl") is None:
        unavailable("openssl is not installed")
    env = {**os.environ, "CERT_DIR": str(directory)}
    done = subprocess.run(
        ["sh", str(MAKE_CERTS), HUB_NAME, TURN_NAME, "127.0.0.1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return Certs(directory)


# --- nginx ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EdgePorts:
    """Free loopback ports standing in for the compose file's ports and service addresses."""

    https: int  # 443
    http: int  # 80
    hub_https: int  # nginx's own HTTPS server behind the stream block (8443)
    turn_hop: int  # the stream hop that takes the PROXY protocol off for coturn (5350)
    hubs: tuple[int, int]  # hub-a:8080, hub-b:8080
    coturn_tls: int  # coturn:5349

    @classmethod
    def choose(cls, hubs: tuple[int, int], coturn_tls: int) -> EdgePorts:
        return cls(free_port(), free_port(), free_port(), free_port(), hubs, coturn_tls)


def nginx_binary() -> tuple[str, str]:
    """nginx, and the load_module line its stream module needs ('' when it is built in)."""
    exe = find_program("nginx", "nginx")
    built = subprocess.run([exe, "-V"], capture_output=True, text=True, check=False).stderr
    if "--with-stream=dynamic" not in built:
        return exe, ""
    for folder in ("/usr/lib/nginx/modules", "/usr/share/nginx/modules", "/etc/nginx/modules"):
        module = Path(folder) / STREAM_MODULE
        if module.exists():
            return exe, f"load_module {module};\n"
    unavailable("nginx's stream module is not installed (`make test` installs libnginx-mod-stream)")


def nginx_config(workdir: Path, certs: Certs, ports: EdgePorts, load_module: str) -> Path:
    """deploy/nginx/tcd-hub.conf with the hosts, ports and paths of this machine."""
    text = replaced(
        NGINX_CONF.read_text(),
        [
            ("listen 443;", f"listen 127.0.0.1:{ports.https};"),
            ("listen 80;", f"listen 127.0.0.1:{ports.http};"),
            ("127.0.0.1:8443", f"127.0.0.1:{ports.hub_https}"),
            ("127.0.0.1:5350", f"127.0.0.1:{ports.turn_hop}"),
            ("server hub-a:8080;", f"server 127.0.0.1:{ports.hubs[0]};"),
            ("server hub-b:8080;", f"server 127.0.0.1:{ports.hubs[1]};"),
            ("proxy_pass coturn:5349;", f"proxy_pass 127.0.0.1:{ports.coturn_tls};"),
            ("/etc/nginx/certs/", f"{certs.directory}/"),
            ("/var/log/nginx/", f"{workdir}/"),
            ("pid /var/run/nginx.pid;", f"pid {workdir}/nginx.pid;"),
            # Few workers on a small shared machine.
            ("worker_processes auto;", "worker_processes 1;"),
        ],
        NGINX_CONF,
    )
    # Temporary files in the test's folder, so that nginx needs no root-owned directory.
    temp = "".join(
        f"    {kind}_temp_path {workdir}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text = replaced(text, [("http {\n", "http {\n" + temp)], NGINX_CONF)
    conf = workdir / "nginx.conf"
    conf.write_text(load_module + text)
    return conf


def nginx_check(exe: str, conf: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on conf."""
    return subprocess.run(
        [exe, "-t", "-c", str(conf), "-p", str(conf.parent), "-e", str(conf.parent / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def start_nginx(exe: str, conf: Path, ports: EdgePorts) -> subprocess.Popen[bytes]:
    """nginx in the foreground on conf, once it accepts connections on every listener."""
    log = conf.parent / "error.log"
    proc = subprocess.Popen(
        [exe, "-c", str(conf), "-p", str(conf.parent), "-e", str(log), "-g", "daemon off;"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    listeners = (ports.https, ports.http, ports.hub_https, ports.turn_hop)

    def ready() -> bool:
        return all(port_open("127.0.0.1", port, timeout=0.2) for port in listeners)

    wait_until(lambda: proc.poll() is not None or ready(), timeout=START_TIMEOUT_S)
    if proc.poll() is not None or not ready():
        stop(proc)
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
        pytest.fail(f"nginx did not start; its log ends:\n{tail}", pytrace=False)
    return proc


# --- coturn --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coturn:
    """A running turnserver on deploy/coturn/turnserver.conf: its ports, secret and log."""

    port: int
    tls_port: int
    secret: str
    log_path: Path
    proc: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        stop(self.proc)


def coturn_config(workdir: Path, certs: Certs, port: int, tls_port: int) -> Path:
    """deploy/coturn/turnserver.conf with this machine's ports and paths."""
    low = random.randrange(42000, 60000 - 20)
    lines = [
        ("listening-port=3478", f"listening-port={port}"),
        ("tls-listening-port=5349", f"tls-listening-port={tls_port}"),
        ("min-port=49160", f"min-port={low}"),
        ("max-port=49259", f"max-port={low + 19}"),
        ("/etc/coturn/certs/", f"{certs.directory}/"),
        ("log-file=stdout", f"log-file={workdir / 'turn.log'}"),
        ("db=/var/lib/coturn/turndb", f"db={workdir / 'turndb'}"),
    ]
    if os.geteuid() != 0:
        # Only root can change to another user; the file's drop to nobody is tested as root.
        lines += [("proc-user=nobody", ""), ("proc-group=nogroup", "")]
    conf = workdir / "turnserver.conf"
    conf.write_text(replaced(COTURN_CONF.read_text(), lines, COTURN_CONF))
    return conf


def start_coturn(workdir: Path, certs: Certs, secret: str, allowed_peer: str) -> Coturn:
    """turnserver -c <the file>, plus what docker-compose.yml adds on its command line.

    workdir must be one that nobody can reach and write, as /var/lib/coturn is in the image:
    coturn opens its database there after dropping root."""
    exe = find_program("turnserver", "coturn")
    for _attempt in range(3):
        port, tls_port = free_port(), free_port()
        conf = coturn_config(workdir, certs, port, tls_port)
        proc = subprocess.Popen(
            [
                exe,
                "-c",
                str(conf),
                f"--static-auth-secret={secret}",
                f"--allowed-peer-ip={allowed_peer}",
                "--listening-ip=127.0.0.1",
                "--relay-ip=127.0.0.1",
                f"--pidfile={workdir / 'turn.pid'}",
                "--no-stdout-log",
                "--verbose",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(
            lambda: proc.poll() is not None or port_open("127.0.0.1", tls_port),  # noqa: B023
            timeout=START_TIMEOUT_S,
        )
        if proc.poll() is None and port_open("127.0.0.1", tls_port):
            return Coturn(port, tls_port, secret, workdir / "turn.log", proc)
        stop(proc)
    tail = (workdir / "turn.log").read_text(errors="replace")[-2000:]
    pytest.fail(f"turnserver did not start; its log ends:\n{tail}", pytrace=False)


def process_uid(pid: int) -> int:
    """The real user id a process runs as now (from /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:")))


# --- a STUN/TURN client over TLS -----------------------------------------------------------------


class StunStream:
    """STUN messages over one TLS connection (RFC 8489 framing: each message's own length)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(
        cls, port: int, context: ssl.SSLContext, server_hostname: str | None
    ) -> StunStream:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                "127.0.0.1", port, ssl=context, server_hostname=server_hostname or ""
            ),
            timeout=5,
        )
        return cls(reader, writer)

    async def request(self, message: stun.Message) -> stun.Message:
        self.writer.write(bytes(message))
        await self.writer.drain()
        header = await asyncio.wait_for(self.reader.readexactly(20), timeout=5)
        body = await self.reader.readexactly(int.from_bytes(header[2:4], "big"))
        answer = stun.parse_message(header + body)
        assert answer.transaction_id == message.transaction_id
        return answer

    async def close(self) -> None:
        self.writer.close()
        # A server may drop a TLS connection without its close_notify; no failure here.
        with contextlib.suppress(ssl.SSLError, ConnectionError):
            await self.writer.wait_closed()


@dataclass
class TurnSession:
    """An authenticated TURN exchange: the long-term key and the server's realm and nonce."""

    stream: StunStream
    username: str
    key: bytes
    realm: str
    nonce: bytes

    @classmethod
    async def allocate(
        cls, stream: StunStream, username: str, password: str
    ) -> tuple[TurnSession | None, stun.Message]:
        """ALLOCATE a UDP relay: the 401 challenge, then the signed request. The session when
        the server granted it, and its last answer either way."""
        first = stun.Message(stun.Method.ALLOCATE, stun.Class.REQUEST)
        first.attributes["REQUESTED-TRANSPORT"] = UDP_TRANSPORT
        challenge = await stream.request(first)
        assert challenge.attributes["ERROR-CODE"][0] == 401, challenge
        realm = challenge.attributes["REALM"]
        key = md5(f"{username}:{realm}:{password}".encode()).digest()
        session = cls(stream, username, key, realm, challenge.attributes["NONCE"])
        answer = await session.signed(stun.Method.ALLOCATE, {"REQUESTED-TRANSPORT": UDP_TRANSPORT})
        return (session if answer.message_class == stun.Class.RESPONSE else None), answer

    async def signed(self, method: stun.Method, attributes: dict[str, object]) -> stun.Message:
        request = stun.Message(method, stun.Class.REQUEST)
        request.attributes.update(attributes)
        request.attributes["USERNAME"] = self.username
        request.attributes["REALM"] = self.realm
        request.attributes["NONCE"] = self.nonce
        request.add_message_integrity(self.key)
        return await self.stream.request(request)

    async def permit(self, peer: str) -> stun.Message:
        """CREATE-PERMISSION for peer (RFC 8656 section 9): coturn's peer policy answers."""
        return await self.signed(stun.Method.CREATE_PERMISSION, {"XOR-PEER-ADDRESS": (peer, 0)})


def binding_request() -> stun.Message:
    return stun.Message(stun.Method.BINDING, stun.Class.REQUEST)


def udp_stun_answers(port: int) -> bool:
    """Whether coturn's plain listener answers a STUN Binding request over UDP."""
    request = binding_request()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1.0)
        sock.sendto(bytes(request), ("127.0.0.1", port))
        try:
            answer = stun.parse_message(sock.recv(2048))
        except OSError:
            return False
    return answer.transaction_id == request.transaction_id

"""The deployment's edge, run for real on loopback: nginx with deploy/nginx/tcd-hub.conf in front
of two real hubs, coturn with deploy/coturn/turnserver.conf behind nginx's port 443, both on the
certificates deploy/make-certs.sh writes (tests/fixtures_edge.py changes only hosts, ports and
paths). What a browser or a kiosk would meet: HTTPS, the redirect from HTTP, a WebSocket to
/socket.io/, one node per client for Socket.IO's long-polling, the browser's address reaching the
hub, and TURN over TLS on 443 with the credentials the hub issues."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aioice import stun

from tests.fixtures_edge import (
    HUB_NAME,
    TURN_NAME,
    Certs,
    Coturn,
    EdgePorts,
    StunStream,
    TurnSession,
    binding_request,
    make_certs,
    nginx_binary,
    nginx_check,
    nginx_config,
    process_uid,
    start_coturn,
    start_nginx,
    stop,
    udp_stun_answers,
)
from tests.fixtures_net import free_port, port_open, wait_until

TURN_SECRET = "edge-test-turn-secret"
# Stands for the media workers' PUBLIC_IP, the one peer coturn may relay to; the other is not.
WORKER_IP = "198.51.100.7"
OTHER_IP = "192.0.2.1"
# Clients in different /24 networks (ip_hash keys on the first three octets of an address).
CLIENT_ADDRESSES = ("127.0.1.1", "127.0.2.1", "127.0.3.1", "127.0.4.1")
POLLING = "/socket.io/?EIO=4&transport=polling"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


def test_certificate_covers_both_names_and_chains_to_the_ca(certs: Certs) -> None:
    verified = subprocess.run(
        ["openssl", "verify", "-CAfile", str(certs.ca), str(certs.directory / "fullchain.pem")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    names = subprocess.run(
        ["openssl", "x509", "-noout", "-ext", "subjectAltName"],
        input=(certs.directory / "fullchain.pem").read_text(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"DNS:{HUB_NAME}" in names
    assert f"DNS:{TURN_NAME}" in names
    assert oct((certs.directory / "privkey.pem").stat().st_mode & 0o777) == "0o600"


def test_certificate_script_refuses_a_turn_name_nginx_would_not_route(tmp_path: Path) -> None:
    done = subprocess.run(
        ["sh", "deploy/make-certs.sh", HUB_NAME, "relay.tcd.test"],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "CERT_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "must start with 'turn.'" in done.stderr
    assert not list(tmp_path.iterdir())


def test_nginx_accepts_the_configuration(tmp_path: Path, certs: Certs) -> None:
    exe, load_module = nginx_binary()
    ports = EdgePorts.choose(hubs=(free_port(), free_port()), coturn_tls=free_port())
    done = nginx_check(exe, nginx_config(tmp_path, certs, ports, load_module))
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


# --- nginx in front of two hubs ------------------------------------------------------------------


@dataclass(frozen=True)
class Edge:
    ports: EdgePorts
    hubs: tuple[str, str]  # each node's own URL, around nginx
    certs: Certs
    logs: Path  # nginx's access.log and error.log

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.ports.https}"

    def session(self, source: str = "127.0.0.1") -> aiohttp.ClientSession:
        """A client from source address, trusting the deployment's CA."""
        connector = aiohttp.TCPConnector(
            ssl=self.certs.client_context(alpn=None), local_addr=(source, 0)
        )
        return aiohttp.ClientSession(connector=connector)


def tcd_hub() -> str:
    """The console script installed next to this interpreter."""
    script = Path(sys.executable).with_name("tcd-hub")
    assert script.exists(), "the tcd-hub console script is not installed (pip install -e .)"
    return str(script)


@pytest.fixture(scope="module")
def hub_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """Two `tcd-hub serve --behind-proxy` processes on one migrated database, as compose runs
    them; the sign-in limit per address is low, so that a test can tell addresses apart by it."""
    data = tmp_path_factory.mktemp("nodes")
    env = {key: value for key, value in os.environ.items() if not key.startswith("TCD_")}
    env.update(
        TCD_DATA_DIR=str(data),
        TCD_SECRET_KEY="edge-test-secret-key",
        TCD_LOGIN_ATTEMPTS_PER_MINUTE_PER_ADDRESS="2",
        # Media is not under test here: no worker processes on the small machine.
        TCD_MEDIA_WORKERS="0",
    )
    migrated = subprocess.run(
        [tcd_hub(), "migrate"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert migrated.returncode == 0, migrated.stderr
    ports = (free_port(), free_port())
    logs = [(data / f"node-{port}.log").open("wb") for port in ports]
    procs = [
        subprocess.Popen(
            [tcd_hub(), "serve", "--host=127.0.0.1", f"--port={port}", "--behind-proxy"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        for port, log in zip(ports, logs, strict=True)
    ]
    try:
        for proc, port in zip(procs, ports, strict=True):
            up = wait_until(
                lambda: proc.poll() is not None or port_open("127.0.0.1", port),  # noqa: B023
                timeout=60,
            )
            tail = (data / f"node-{port}.log").read_text(errors="replace")[-2000:]
            assert up and proc.poll() is None, f"tcd-hub serve did not start:\n{tail}"
        yield ports
    finally:
        for proc in procs:
            stop(proc)
        for file in logs:
            file.close()


@pytest.fixture(scope="module")
def edge(
    tmp_path_factory: pytest.TempPathFactory, certs: Certs, hub_nodes: tuple[int, int]
) -> Iterator[Edge]:
    exe, load_module = nginx_binary()
    ports = EdgePorts.choose(hubs=hub_nodes, coturn_tls=free_port())
    conf = nginx_config(tmp_path_factory.mktemp("nginx"), certs, ports, load_module)
    proc = start_nginx(exe, conf, ports)
    try:
        urls = (f"http://127.0.0.1:{hub_nodes[0]}", f"http://127.0.0.1:{hub_nodes[1]}")
        yield Edge(ports, urls, certs, conf.parent)
    finally:
        stop(proc)


async def test_the_hub_answers_over_https_with_the_proxy_believed(edge: Edge) -> None:
    async with edge.session() as client:
        async with client.get(f"{edge.https}/healthz", server_hostname=HUB_NAME) as answer:
            assert answer.status == 200
            assert await answer.json() == {"status": "ok"}
            # HSTS only when the hub believes X-Forwarded-Proto: https, as --behind-proxy asks.
            assert "max-age=" in answer.headers["Strict-Transport-Security"]
        # Named by address only (no SNI), a client offering HTTP by ALPN still reaches the hub.
        context = edge.certs.client_context(alpn=["http/1.1"])
        async with client.get(f"{edge.https}/healthz", ssl=context) as answer:
            assert answer.status == 200


async def test_a_guest_link_token_stays_out_of_the_access_log(edge: Edge) -> None:
    token = "g.QeWDAWG7LfPQF0njZN1CcnqGJ_hvSMO5hK57L-h_vsM"
    async with edge.session() as client:
        async with client.get(f"{edge.https}/guest/{token}", server_hostname=HUB_NAME) as answer:
            assert answer.status == 404  # no such guest: the hub's own "not valid" page
        referer = {"Referer": f"https://{HUB_NAME}/guest/{token}"}
        async with client.get(
            f"{edge.https}/static/css/app.css", server_hostname=HUB_NAME, headers=referer
        ) as answer:
            assert answer.status == 200
    log = edge.logs / "access.log"
    assert wait_until(lambda: "/static/css/app.css" in log.read_text(), timeout=10)
    text = log.read_text()
    assert "/guest/[token]" in text
    assert token not in text


async def test_plain_http_is_sent_to_https(edge: Edge) -> None:
    async with aiohttp.ClientSession() as client:
        async with client.get(
            f"http://127.0.0.1:{edge.ports.http}/hearings/7/join?x=1",
            headers={"Host": HUB_NAME},
            allow_redirects=False,
        ) as answer:
            assert answer.status == 301
            assert answer.headers["Location"] == f"https://{HUB_NAME}/hearings/7/join?x=1"


async def test_a_websocket_to_socketio_passes_both_ways(edge: Edge) -> None:
    async with edge.session() as client:
        async with client.ws_connect(
            f"wss://127.0.0.1:{edge.ports.https}/socket.io/?EIO=4&transport=websocket",
            server_hostname=HUB_NAME,
        ) as ws:
            opened = await asyncio.wait_for(ws.receive_str(), timeout=5)
            assert opened.startswith('0{"sid":')  # engine.io's open packet
            await ws.send_str("40")  # Socket.IO connect, without credentials
            answer = await asyncio.wait_for(ws.receive_str(), timeout=5)
            # The hub answers the connect (refused: no sign-in) over the same socket.
            assert answer.startswith(("40", "44")), answer


async def _owner(edge: Edge, sid: str) -> int:
    """Which hub holds engine.io session sid: the one that accepts a packet for it directly."""
    owners = []
    async with aiohttp.ClientSession() as client:
        for index, hub in enumerate(edge.hubs):
            async with client.post(f"{hub}{POLLING}&sid={sid}", data="3") as answer:
                if answer.status == 200:
                    owners.append(index)
    assert len(owners) == 1, f"session {sid} is known to hubs {owners}"
    return owners[0]


async def test_long_polling_sticks_to_one_node_per_client(edge: Edge) -> None:
    owners = set()
    for source in CLIENT_ADDRESSES:
        async with edge.session(source) as client:
            async with client.get(f"{edge.https}{POLLING}", server_hostname=HUB_NAME) as answer:
                assert answer.status == 200
                sid = (await answer.text()).split('"sid":"', 1)[1].split('"', 1)[0]
            owners.add(await _owner(edge, sid))
            # Every later request of the session reaches the node that opened it.
            for _ in range(6):
                async with client.post(
                    f"{edge.https}{POLLING}&sid={sid}", data="3", server_hostname=HUB_NAME
                ) as answer:
                    assert answer.status == 200, await answer.text()
    # The browser's own address decides, not nginx's (the PROXY hop keeps it): both nodes serve.
    assert owners == {0, 1}


async def _sign_in(client: aiohttp.ClientSession, edge: Edge) -> int:
    async with client.post(
        f"{edge.https}/api/v1/auth/login",
        json={"username": "staff", "password": "wrong"},
        server_hostname=HUB_NAME,
    ) as answer:
        return answer.status


async def test_the_hub_sees_each_browsers_own_address(edge: Edge) -> None:
    # Two addresses of one /24 reach the same node; its limit of 2 a minute counts them apart.
    async with edge.session("127.0.5.1") as first:
        assert [await _sign_in(first, edge) for _ in range(3)] == [401, 401, 429]
    async with edge.session("127.0.5.2") as neighbour:
        assert await _sign_in(neighbour, edge) == 401


# --- TURN over TLS on 443 ------------------------------------------------------------------------


@dataclass(frozen=True)
class TurnEdge:
    ports: EdgePorts
    coturn: Coturn
    certs: Certs


@pytest.fixture
def coturn_dir() -> Iterator[Path]:
    """A folder coturn can still write once it runs as nobody (pytest's own are root's only)."""
    folder = Path(tempfile.mkdtemp(prefix="tcd-coturn-"))
    folder.chmod(0o777)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def turn_edge(tmp_path: Path, certs: Certs, coturn_dir: Path) -> Iterator[TurnEdge]:
    exe, load_module = nginx_binary()
    coturn = start_coturn(coturn_dir, certs, TURN_SECRET, WORKER_IP)
    try:
        ports = EdgePorts.choose(hubs=(free_port(), free_port()), coturn_tls=coturn.tls_port)
        (tmp_path / "nginx").mkdir()
        proc = start_nginx(exe, nginx_config(tmp_path / "nginx", certs, ports, load_module), ports)
        try:
            yield TurnEdge(ports, coturn, certs)
        finally:
            stop(proc)
    finally:
        coturn.stop()


def hub_credential(secret: str = TURN_SECRET, ttl: int = 600) -> tuple[str, str]:
    """What the hub hands a site for TURN (hub.services.ice_servers)."""
    from hub.services.ice_servers import turn_credential

    return turn_credential(secret, "site-1", int(time.time()) + ttl)


async def test_turn_over_tls_on_443_with_the_hubs_credential(turn_edge: TurnEdge) -> None:
    stream = await StunStream.open(
        turn_edge.ports.https, turn_edge.certs.client_context(alpn=None), TURN_NAME
    )
    try:
        answer = await stream.request(binding_request())
        assert answer.message_class == stun.Class.RESPONSE
        session, granted = await TurnSession.allocate(stream, *hub_credential())
        assert session is not None, granted.attributes.get("ERROR-CODE")
        relayed_ip, _port = granted.attributes["XOR-RELAYED-ADDRESS"]
        assert relayed_ip == "127.0.0.1"
        # Relays go to the media workers' address only.
        allowed = await session.permit(WORKER_IP)
        assert allowed.message_class == stun.Class.RESPONSE
        refused = await session.permit(OTHER_IP)
        assert refused.attributes["ERROR-CODE"][0] == 403
    finally:
        await stream.close()
    assert "ALLOCATE processed, success" in turn_edge.coturn.log()


async def test_turn_refuses_a_credential_not_signed_with_the_secret(turn_edge: TurnEdge) -> None:
    for username, password in (
        hub_credential(secret="another-secret"),
        hub_credential(ttl=-60),  # expired
    ):
        stream = await StunStream.open(
            turn_edge.ports.https, turn_edge.certs.client_context(alpn=None), TURN_NAME
        )
        try:
            session, answer = await TurnSession.allocate(stream, username, password)
            assert session is None
            assert answer.attributes["ERROR-CODE"][0] == 401
        finally:
            await stream.close()


async def test_turn_named_by_address_only_still_reaches_coturn(turn_edge: TurnEdge) -> None:
    # A turns: URL with an IP address: no SNI, and no HTTP protocol offered by ALPN.
    stream = await StunStream.open(
        turn_edge.ports.https, turn_edge.certs.client_context(alpn=None), None
    )
    try:
        answer = await stream.request(binding_request())
        assert answer.message_class == stun.Class.RESPONSE
    finally:
        await stream.close()


async def test_coturn_answers_udp_and_drops_root(turn_edge: TurnEdge) -> None:
    assert await asyncio.to_thread(udp_stun_answers, turn_edge.coturn.port)
    if os.geteuid() != 0:
        pytest.skip("the drop to nobody is only possible as root")
    assert process_uid(turn_edge.coturn.proc.pid) == pwd.getpwnam("nobody").pw_uid
    # It read its TLS key (root's only) before the drop: TLS still works after it.
    stream = await StunStream.open(
        turn_edge.ports.https, turn_edge.certs.client_context(alpn=None), TURN_NAME
    )
    try:
        answer = await stream.request(binding_request())
        assert answer.message_class == stun.Class.RESPONSE
    finally:
        await stream.close()

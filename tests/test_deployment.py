"""docker-compose.yml against the code it runs. Docker cannot run on this machine, so the file is
read as compose reads it (tests/deploy_files.py) and every service's image or build, command
line, environment, ports and dependencies are checked: the command lines parse with the real
`tcd-hub` parser, the TCD_* variables are ones Settings reads, the published UDP ranges are the
ones the workers and coturn use, and nginx and coturn are pointed at what the compose file runs.
tests/test_deployment_edge.py runs the nginx and coturn configurations for real."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn

import pytest
from sqlalchemy.engine import make_url

from hub.cli import main
from hub.config import settings_from_env
from tests.deploy_files import (
    COMPOSE_FILE,
    ROOT,
    PortRange,
    Published,
    UnsetVariable,
    coturn_conf,
    dockerfile_instructions,
    env_example,
    flags,
    load_compose,
    nginx_blocks,
    nginx_upstream,
    published,
    references,
)

# What .env.example leaves for the operator to fill in, filled in here as an operator would.
SECRETS = ("TCD_SECRET_KEY", "TCD_TURN_SECRET", "POSTGRES_PASSWORD")
FILLED = {
    "TCD_SECRET_KEY": "3f" * 32,
    "TCD_TURN_SECRET": "7a" * 32,
    "POSTGRES_PASSWORD": "c4" * 24,
    "PUBLIC_IP": "203.0.113.10",
    "TURN_HOSTNAME": "turn.tiepcongdan.example.vn",
}
HUB_IMAGE = "tcd-hub:latest"
REDIS_URL = "redis://redis:6379/0"


def filled_env() -> dict[str, str]:
    """.env.example with every empty value filled in (FILLED), as a deployer's .env."""
    example = env_example()
    return {name: value or FILLED[name] for name, value in example.items()}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose(filled_env())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def tcd_hub_services(services: Mapping[str, dict[str, Any]], subcommand: str) -> list[str]:
    """Names of the services that run `tcd-hub <subcommand>`."""
    return sorted(
        name
        for name, service in services.items()
        if service.get("command", [])[:2] == ["tcd-hub", subcommand]
    )


class Parsed(Exception):
    """Raised in place of running a command, carrying what the parser made of it."""

    def __init__(self, namespace: argparse.Namespace) -> None:
        super().__init__("parsed")
        self.namespace = namespace


def parse_command(command: list[str]) -> argparse.Namespace:
    """The command line as the console script parses it: hub.cli.main, which hands some
    subcommands to their own modules' parsers, stopped right after parsing. A refusal fails the
    test with the parser's message."""
    assert command[0] == "tcd-hub"
    real = argparse.ArgumentParser.parse_args

    def parse_only(parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> NoReturn:
        raise Parsed(real(parser, *args, **kwargs))

    errors = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(argparse.ArgumentParser, "parse_args", parse_only)
        try:
            with contextlib.redirect_stderr(errors):
                main(command[1:])
        except Parsed as parsed:
            return parsed.namespace
        except SystemExit:
            pytest.fail(f"`{' '.join(command)}` does not parse: {errors.getvalue().strip()}")
    pytest.fail(f"`{' '.join(command)}` ran without its arguments being parsed")


def cli_help(*argv: str) -> str:
    """What `tcd-hub ARGV --help` prints ('' when the parser refuses ARGV)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        with contextlib.suppress(SystemExit):
            main([*argv, "--help"])
    return out.getvalue()


# The media workers (issue 8) are being written beside this file: until their command and the
# nodes' flag for them are in hub.cli, the command lines that use them cannot parse. Each mark
# lifts itself once its option exists, so the check then runs for real.
MEDIA_WORKER_PENDING = pytest.mark.xfail(
    "--udp-ports" not in cli_help("media-worker"),
    reason="`tcd-hub media-worker` (issue 8, media workers) is not in hub.cli yet",
    strict=True,
)
REMOTE_WORKERS_PENDING = pytest.mark.xfail(
    "--remote-media-workers" not in cli_help("serve"),
    reason="`tcd-hub serve --media-workers/--remote-media-workers` (issue 8, media workers) "
    "is not in hub.cli yet",
    strict=True,
)


class RecordingEnv(Mapping[str, str]):
    """An environment that notes every variable name settings_from_env looks up."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return self._values[key]

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.asked.add(key)
        return key in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment: use the mapping form"
    return {key: str(value) for key, value in env.items()}


def depends(service: Mapping[str, Any]) -> dict[str, str]:
    """depends_on as service -> condition (the long form is required, to name the condition)."""
    found = service.get("depends_on", {})
    assert isinstance(found, dict), "depends_on: use the long form, with a condition each"
    return {name: spec["condition"] for name, spec in found.items()}


# --- the compose file's own variables ------------------------------------------------------------


def test_env_example_lists_exactly_the_variables_the_compose_file_uses() -> None:
    used = {ref.name for ref in references()}
    assert used == set(env_example())


def test_secrets_are_required_and_have_no_default() -> None:
    refs = references()
    example = env_example()
    for name in SECRETS:
        assert example[name] == "", f".env.example must not ship a value for {name}"
        ops = {ref.op for ref in refs if ref.name == name}
        assert ":?" in ops, f"{name} is never required (${{{name}:?...}}) in docker-compose.yml"
        assert not ops & {"-", ":-"}, f"{name} has a default in docker-compose.yml"


def test_compose_refuses_to_start_without_a_secret() -> None:
    for name in SECRETS:
        env = filled_env()
        env[name] = ""
        with pytest.raises(UnsetVariable, match=name):
            load_compose(env)


def test_env_file_and_keys_stay_out_of_git_and_the_image() -> None:
    ignored = (ROOT / ".gitignore").read_text().split()
    assert ".env" in ignored
    assert "deploy/certs/" in ignored
    assert ".env" in (ROOT / ".dockerignore").read_text().split()


# --- images, builds and dependencies -------------------------------------------------------------


def test_the_deployment_has_its_services(services: dict[str, dict[str, Any]]) -> None:
    assert len(tcd_hub_services(services, "serve")) == 2
    assert len(tcd_hub_services(services, "media-worker")) >= 2
    assert tcd_hub_services(services, "migrate") == ["migrate"]
    assert {"nginx", "redis", "postgres", "coturn"} <= set(services)


def test_every_tcd_hub_service_builds_the_dockerfile(services: dict[str, dict[str, Any]]) -> None:
    ours = [name for name, svc in services.items() if svc.get("command", [None])[0] == "tcd-hub"]
    assert len(ours) >= 5
    for name in ours:
        service = services[name]
        assert service.get("build") == ".", f"{name} does not build from the Dockerfile"
        assert (COMPOSE_FILE.parent / service["build"] / "Dockerfile").exists()
        assert service.get("image") == HUB_IMAGE, f"{name} tags another image"
    for name, service in services.items():
        if name not in ours:
            assert "build" not in service
            image = service["image"]
            assert re.fullmatch(r"[a-z0-9./-]+:[0-9][\w.-]*", image), f"{name}: unpinned {image}"


def test_nodes_wait_for_the_database_redis_and_the_migration(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in tcd_hub_services(services, "serve"):
        assert depends(services[name]) == {
            "migrate": "service_completed_successfully",
            "postgres": "service_healthy",
            "redis": "service_healthy",
        }, name
    # A worker keeps no records: Redis carries everything it exchanges with the nodes.
    for name in tcd_hub_services(services, "media-worker"):
        assert depends(services[name]) == {"redis": "service_healthy"}, name
    migrate = services["migrate"]
    assert depends(migrate) == {"postgres": "service_healthy"}
    assert migrate["restart"] == "no"


def test_every_awaited_health_is_checked(services: dict[str, dict[str, Any]]) -> None:
    """A service_healthy dependency needs a health check: compose's own, or the image's."""
    for service in services.values():
        for name, condition in depends(service).items():
            assert name in services
            if condition != "service_healthy":
                continue
            target = services[name]
            assert not target.get("healthcheck", {}).get("disable"), name
            if "healthcheck" not in target:
                assert target.get("image") == HUB_IMAGE, f"{name} has no health check"


def test_nginx_waits_for_both_nodes_and_coturn(services: dict[str, dict[str, Any]]) -> None:
    expected = {name: "service_healthy" for name in tcd_hub_services(services, "serve")}
    expected["coturn"] = "service_started"
    assert depends(services["nginx"]) == expected


def test_the_image_installs_the_lock_and_checks_healthz() -> None:
    instructions = dockerfile_instructions()
    runs = " && ".join(rest for keyword, rest in instructions if keyword == "RUN")
    assert "pip install --require-hashes -r requirements.lock" in runs
    assert "pip install --no-deps ." in runs
    copies = [rest for keyword, rest in instructions if keyword == "COPY"]
    assert any("requirements.lock" in rest.split() for rest in copies)
    env = " ".join(rest for keyword, rest in instructions if keyword == "ENV")
    port = re.search(r"TCD_PORT=(\d+)", env)
    assert port, "the image sets no TCD_PORT"
    healthchecks = [rest for keyword, rest in instructions if keyword == "HEALTHCHECK"]
    assert len(healthchecks) == 1
    assert f"http://127.0.0.1:{port[1]}/healthz" in healthchecks[0]


# --- command lines -------------------------------------------------------------------------------


@REMOTE_WORKERS_PENDING
def test_node_command_lines_parse(services: dict[str, dict[str, Any]]) -> None:
    upstream = set(nginx_upstream("tcd_hub"))
    for name in tcd_hub_services(services, "serve"):
        args = parse_command(services[name]["command"])
        # No worker of its own: rooms go to the media-worker services, through Redis.
        assert args.media_workers == 0, name
        assert args.remote_media_workers is True, name
        assert args.redis_url == REDIS_URL, name
        assert args.behind_proxy is True, name
        assert args.host == "0.0.0.0", name
        # nginx reaches the node by its service name and the port it listens on.
        assert f"{name}:{args.port}" in upstream, f"nginx's upstream does not name {name}"
        assert services[name]["expose"] == [str(args.port)]
        assert "ports" not in services[name], f"{name} is reachable around nginx"
    assert len(upstream) == len(tcd_hub_services(services, "serve"))


@MEDIA_WORKER_PENDING
def test_worker_command_lines_parse(services: dict[str, dict[str, Any]]) -> None:
    for name in tcd_hub_services(services, "media-worker"):
        command = services[name]["command"]
        args = parse_command(command)
        assert args.redis_url == REDIS_URL, name
        assert args.announce_ip == [FILLED["PUBLIC_IP"]], name
        assert args.udp_ports == flags(command)["--udp-ports"], name
        # One UDP port per participant (one peer connection each, one announced address).
        udp = PortRange.parse(args.udp_ports)
        assert 0 < args.capacity <= udp.hi - udp.lo + 1, name


def test_workers_may_move_to_their_nice_value(services: dict[str, dict[str, Any]]) -> None:
    # The image runs as an unprivileged user: only RLIMIT_NICE lets a worker go below nice 0,
    # down to 20 - limit (see rooms.worker.move_to_nice).
    target = settings_from_env({}).media_worker_nice
    for name in tcd_hub_services(services, "media-worker"):
        limit = services[name].get("ulimits", {}).get("nice")
        assert limit is not None, f"{name} has no nice ulimit: it would stay at nice 0"
        soft = limit["soft"] if isinstance(limit, dict) else limit
        assert 20 - int(soft) <= target, name


def test_migrate_command_line_parses(services: dict[str, dict[str, Any]]) -> None:
    args = parse_command(services["migrate"]["command"])
    assert args.command == "migrate"


# --- environment ---------------------------------------------------------------------------------


def test_every_tcd_variable_is_read_by_settings(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        env = environment(service)
        ours = {key for key in env if key.startswith("TCD_")}
        if not ours:
            continue
        recorded = RecordingEnv(env)
        settings_from_env(recorded)  # and every value is one Settings accepts
        unread = ours - recorded.asked
        assert not unread, f"{name} sets {sorted(unread)}, which Settings never reads"


def test_nodes_share_one_secret_database_and_turn_secret(
    services: dict[str, dict[str, Any]],
) -> None:
    nodes = [
        settings_from_env(environment(services[n])) for n in tcd_hub_services(services, "serve")
    ]
    for settings in nodes:
        assert settings.secret_key == FILLED["TCD_SECRET_KEY"]
        assert settings.turn_secret == FILLED["TCD_TURN_SECRET"]
    assert len({settings.database_url for settings in nodes}) == 1
    coturn = flags(services["coturn"]["command"])
    assert coturn["--static-auth-secret"] == FILLED["TCD_TURN_SECRET"]


def test_database_url_is_the_compose_postgres(services: dict[str, dict[str, Any]]) -> None:
    postgres = environment(services["postgres"])
    for name in [*tcd_hub_services(services, "serve"), "migrate"]:
        url = make_url(environment(services[name])["TCD_DATABASE_URL"])
        assert url.drivername == "postgresql+asyncpg"
        assert url.host == "postgres"
        assert url.username == postgres["POSTGRES_USER"]
        assert url.password == postgres["POSTGRES_PASSWORD"] == FILLED["POSTGRES_PASSWORD"]
        assert url.database == postgres["POSTGRES_DB"]


def test_turn_servers_handed_to_browsers_are_the_ones_published(
    services: dict[str, dict[str, Any]],
) -> None:
    from hub.services.ice_servers import turn_urls

    coturn_ports = published(services["coturn"])
    nginx_ports = published(services["nginx"])
    for name in tcd_hub_services(services, "serve"):
        settings = settings_from_env(environment(services[name]))
        assert settings.turn_hosts == (FILLED["TURN_HOSTNAME"],)
        transports = set()
        for url in turn_urls(settings):
            found = re.fullmatch(r"(turns?):([^:?]+):(\d+)\?transport=(udp|tcp)", url)
            assert found, f"{name}: {url} is not a TURN URL with a transport"
            scheme, _host, port, transport = found.groups()
            one = PortRange.parse(port)
            # TLS goes to nginx, which hands it to coturn; UDP and TCP to coturn itself.
            ports = nginx_ports if scheme == "turns" else coturn_ports
            assert Published(one, one, transport) in ports, f"{name}: nothing publishes {url}"
            transports.add((scheme, transport, port))
        # UDP, TCP and TLS on 443: government networks often let only 443 out.
        assert transports == {
            ("turn", "udp", "3478"),
            ("turn", "tcp", "3478"),
            ("turns", "tcp", "443"),
        }


# --- ports ---------------------------------------------------------------------------------------


def test_each_worker_publishes_exactly_its_udp_range(services: dict[str, dict[str, Any]]) -> None:
    ranges = []
    for name in tcd_hub_services(services, "media-worker"):
        service = services[name]
        udp = PortRange.parse(flags(service["command"])["--udp-ports"])
        # Published one to one: the ports the worker announces are the ones clients reach.
        assert published(service) == [Published(udp, udp, "udp")], name
        ranges.append(udp)
    turn = coturn_conf()
    relay = PortRange(int(turn["min-port"][0]), int(turn["max-port"][0]))
    ranges.append(relay)
    for index, first in enumerate(ranges):
        for second in ranges[index + 1 :]:
            assert not first.overlaps(second), f"{first} and {second} overlap"


def test_coturn_publishes_its_listeners_and_relay_range(
    services: dict[str, dict[str, Any]],
) -> None:
    turn = coturn_conf()
    listening = PortRange.parse(turn["listening-port"][0])
    relay = PortRange(int(turn["min-port"][0]), int(turn["max-port"][0]))
    assert sorted(published(services["coturn"]), key=str) == sorted(
        [
            Published(listening, listening, "udp"),
            Published(listening, listening, "tcp"),
            Published(relay, relay, "udp"),
        ],
        key=str,
    )
    # TLS is not published: nginx's stream block hands TURN on 443 to coturn's TLS port.
    tls = turn["tls-listening-port"][0]
    strip_hop = next(body for body in nginx_blocks("server") if "5350 proxy_protocol" in body)
    assert f"proxy_pass coturn:{tls};" in strip_hop


def test_only_nginx_and_the_media_ports_are_published(
    services: dict[str, dict[str, Any]],
) -> None:
    assert sorted(published(services["nginx"]), key=str) == [
        Published(PortRange(443, 443), PortRange(443, 443), "tcp"),
        Published(PortRange(80, 80), PortRange(80, 80), "tcp"),
    ]
    for name in ("redis", "postgres", "migrate"):
        assert "ports" not in services[name], f"{name} is published"


def test_coturn_relays_only_to_the_workers(services: dict[str, dict[str, Any]]) -> None:
    turn = coturn_conf()
    assert "use-auth-secret" in turn
    assert not {"user", "lt-cred-mech", "static-auth-secret"} & set(turn), "a secret in the file"
    assert "0.0.0.0-255.255.255.255" in turn["denied-peer-ip"]
    options = flags(services["coturn"]["command"])
    workers = tcd_hub_services(services, "media-worker")
    announced = {flags(services[name]["command"])["--announce-ip"] for name in workers}
    assert {options["--allowed-peer-ip"]} == announced == {options["--external-ip"]}


# --- files mounted into nginx and coturn ----------------------------------------------------------


def _mounts(service: Mapping[str, Any]) -> dict[str, Path]:
    """container path -> host path of a service's bind mounts."""
    out = {}
    for spec in service.get("volumes", []):
        host, container, *_ = spec.split(":")
        out[container] = (COMPOSE_FILE.parent / host).resolve()
    return out


def test_nginx_and_coturn_get_their_configuration_and_certificates(
    services: dict[str, dict[str, Any]],
) -> None:
    nginx = _mounts(services["nginx"])
    assert nginx["/etc/nginx/nginx.conf"] == ROOT / "deploy" / "nginx" / "tcd-hub.conf"
    conf = (ROOT / "deploy" / "nginx" / "tcd-hub.conf").read_text()
    for path in re.findall(r"ssl_certificate(?:_key)?\s+(\S+);", conf):
        assert Path(path).parent == Path("/etc/nginx/certs")
    assert nginx["/etc/nginx/certs"] == ROOT / "deploy" / "certs"

    coturn = _mounts(services["coturn"])
    command = services["coturn"]["command"]
    conf_path = command[command.index("-c") + 1]
    assert coturn[conf_path] == ROOT / "deploy" / "coturn" / "turnserver.conf"
    turn = coturn_conf()
    for key in ("cert", "pkey"):
        directory = str(Path(turn[key][0]).parent)
        assert coturn[directory] == ROOT / "deploy" / "certs"
    assert {Path(turn["cert"][0]).name, Path(turn["pkey"][0]).name} == {
        "fullchain.pem",
        "privkey.pem",
    }

"""A site on a network of its own, broken for real: a network namespace made by the test, joined
to this machine by a veth pair, that the test cuts (`ip link set ... down`), makes lossy
(nftables `numgen random` drops in netdev ingress hooks, one at each end, since tc netem is
missing from these kernels and a drop in an output hook only fails `sendto` with EPERM) or thin
(tc tbf). Processes started with `SiteNetwork.command()` run inside it and reach the hub on
`host_ip`, the machine's end of the pair; the hub announces that address in its ICE candidates.

Needs root, iproute2, nftables and ethtool (`make test` installs them): elsewhere the tests skip,
except under CI, where they fail.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _run(*argv: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip() or done.stdout}")


@dataclass
class SiteNetwork:
    """One namespace and its link; every change it makes is undone by its context manager."""

    name: str
    host_if: str
    site_if: str
    host_ip: str
    site_ip: str

    def command(self, argv: list[str]) -> list[str]:
        """argv run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def cut(self) -> None:
        """The site's network dies: no carrier on either end, every packet lost."""
        _run("ip", "link", "set", self.host_if, "down")

    def restore(self) -> None:
        """The network is back."""
        _run("ip", "link", "set", self.host_if, "up")

    def loss(self, percent: int) -> None:
        """Drop `percent` % of the packets each way, at random (0 removes the rules)."""
        self._clear_loss()
        if percent > 0:
            self._drop(f"numgen random mod 100 < {int(percent)} drop")

    def block_udp(self) -> None:
        """Drop every UDP packet each way (media dies, the socket's TCP holds); loss(0) undoes."""
        self._clear_loss()
        self._drop("meta l4proto udp drop")

    def _drop(self, rule: str) -> None:
        for prefix, device in (
            ((), self.host_if),
            (("ip", "netns", "exec", self.name), self.site_if),
        ):
            table = f"tcdloss_{device.replace('-', '_')}"
            hook = f"type filter hook ingress device {device} priority 0;"
            script = f"table netdev {table} {{\n  chain ingress {{ {hook} {rule}; }}\n}}\n"
            done = subprocess.run(
                [*prefix, "nft", "-f", "-"], input=script, capture_output=True, text=True
            )
            if done.returncode != 0:
                raise RuntimeError(f"nft failed on {device}: {done.stderr.strip()}")

    def _clear_loss(self) -> None:
        for prefix, device in (
            ((), self.host_if),
            (("ip", "netns", "exec", self.name), self.site_if),
        ):
            table = f"tcdloss_{device.replace('-', '_')}"
            subprocess.run(
                [*prefix, "nft", "delete", "table", "netdev", table],
                capture_output=True,
                check=False,
            )

    def thin(self, kbit: int | None) -> None:
        """Limit the link to `kbit` kbit/s each way with tbf (None removes the limit)."""
        for prefix, device in (
            ((), self.host_if),
            (("ip", "netns", "exec", self.name), self.site_if),
        ):
            subprocess.run(
                [*prefix, "tc", "qdisc", "del", "dev", device, "root"],
                capture_output=True,
                check=False,
            )
            if kbit is not None:
                _run(
                    *prefix,
                    "tc",
                    "qdisc",
                    "add",
                    "dev",
                    device,
                    "root",
                    "tbf",
                    "rate",
                    f"{kbit}kbit",
                    "burst",
                    "8kb",
                    "latency",
                    "200ms",
                )


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool, package in (
        ("ip", "iproute2"),
        ("nft", "nftables"),
        ("tc", "iproute2"),
        ("ethtool", "ethtool"),
    ):
        if shutil.which(tool) is None:
            return f"{tool} is missing (`make test` installs {package} as root)"
    return None


@contextlib.contextmanager
def site_network() -> Iterator[SiteNetwork]:
    """A namespace with a veth pair to this machine on a /30 of 10.213.0.0/16 of its own."""
    missing = _missing()
    if missing is not None:
        _unavailable(missing)
    tag = f"{os.getpid() % 10000}{random.randrange(100):02d}"
    block = random.randrange(16384) * 4  # a /30 inside 10.213.0.0/16
    host_ip = f"10.213.{block // 256}.{block % 256 + 1}"
    site_ip = f"10.213.{block // 256}.{block % 256 + 2}"
    network = SiteNetwork(f"tcd-site-{tag}", f"tcdh{tag}", f"tcds{tag}", host_ip, site_ip)
    try:
        _run("ip", "netns", "add", network.name)
        _run("ip", "link", "add", network.host_if, "type", "veth", "peer", "name", network.site_if)
        _run("ip", "link", "set", network.site_if, "netns", network.name)
        _run("ip", "addr", "add", f"{host_ip}/30", "dev", network.host_if)
        _run("ip", "link", "set", network.host_if, "up")
        inside = ("ip", "-n", network.name)
        _run(*inside, "addr", "add", f"{site_ip}/30", "dev", network.site_if)
        _run(*inside, "link", "set", network.site_if, "up")
        _run(*inside, "link", "set", "lo", "up")
        _run(*inside, "route", "add", "default", "via", host_ip)
        # A physical link carries single datagrams; a veth would carry the hub's UDP GSO
        # messages (rooms/fanout.c) whole, so that one drop took all of a frame's packets.
        # Off, the kernel cuts them before the veth, as it does before a NIC without UDP
        # segmentation offload.
        for device, prefix in ((network.host_if, []), (network.site_if, network.command([]))):
            _run(*prefix, "ethtool", "-K", device, "tx-udp-segmentation", "off")
        yield network
    finally:
        network._clear_loss()
        subprocess.run(["ip", "link", "del", network.host_if], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", network.name], capture_output=True, check=False)


@contextlib.contextmanager
def site_agent_in(
    network: SiteNetwork,
    hub_url: str,
    token: str,
    hearing_id: int,
    *,
    log: Path | None = None,
    seconds: float = 170,
    extra: Sequence[str] = (),
) -> Iterator[subprocess.Popen[bytes]]:
    """`tcd-hub site` inside the namespace, publishing a test pattern into the hearing from the
    site's address; its output goes to `log` (nowhere without one). Killed on exit."""
    argv = [sys.executable, "-m", "hub.cli", "site", "--hub", hub_url, "--token", token]
    argv += ["--hearing", str(hearing_id), "--seconds", str(seconds), "--ice-ip", network.site_ip]
    argv += extra
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(log.open("wb")) if log is not None else subprocess.DEVNULL
        process = subprocess.Popen(
            network.command(argv), env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            yield process
        finally:
            process.kill()
            process.wait()


@pytest.fixture
def network() -> Iterator[SiteNetwork]:
    """A site network of its own for the test (tests/conftest.py makes it every test's)."""
    with site_network() as made:
        yield made

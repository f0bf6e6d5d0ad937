"""Reading the deployment files as Docker Compose, nginx and coturn would: docker-compose.yml
with its ${NAME} references filled in from .env.example, its port specs, and the few directives
of deploy/nginx/tcd-hub.conf and deploy/coturn/turnserver.conf that the other files must match.

Docker cannot run here, so tests/test_deployment.py checks the file through this reading instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
NGINX_CONF = ROOT / "deploy" / "nginx" / "tcd-hub.conf"
COTURN_CONF = ROOT / "deploy" / "coturn" / "turnserver.conf"
MAKE_CERTS = ROOT / "deploy" / "make-certs.sh"

# Compose's interpolation: $$ is a dollar; ${NAME}, ${NAME:-default}, ${NAME-default},
# ${NAME:?error}, ${NAME?error}; and a bare $NAME.
_REFERENCE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


@dataclass(frozen=True)
class Reference:
    """One ${NAME...} in the compose file: its operator ('', ':-', '-', ':?', '?')."""

    name: str
    op: str


class UnsetVariable(Exception):
    """A required ${NAME:?...} had no value, as compose would refuse it."""


def env_example() -> dict[str, str]:
    """NAME=value lines of .env.example, in order (comments and blank lines skipped)."""
    values: dict[str, str] = {}
    for number, line in enumerate(ENV_EXAMPLE.read_text().splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, value = stripped.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f".env.example line {number} is not NAME=value: {line!r}")
        values[name] = value
    return values


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)


def references() -> list[Reference]:
    """Every variable docker-compose.yml's values interpolate, with how (default, required or
    plain). Comments are not interpolated by compose, so they are not read here either."""
    found = []
    for text in _strings(_raw_compose()):
        for match in _REFERENCE.finditer(text):
            if not match["escaped"]:
                found.append(Reference(match["braced"] or match["bare"], match["op"] or ""))
    return found


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """The string compose would use, given .env's values."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        op, arg = match["op"] or "", match["arg"] or ""
        current = env.get(name)
        missing = current is None or (op.startswith(":") and current == "")
        if op.endswith("-") and missing:
            return arg
        if op.endswith("?") and missing:
            raise UnsetVariable(f"{name}: {arg}")
        return current or ""

    return _REFERENCE.sub(replace, value)


def _interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _interpolate_tree(value, env) for key, value in node.items()}
    return node


def _raw_compose() -> dict[str, Any]:
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(raw, dict), "docker-compose.yml is not a mapping"
    return raw


def load_compose(env: Mapping[str, str]) -> dict[str, Any]:
    """docker-compose.yml as compose reads it: YAML anchors and merge keys resolved, then every
    string interpolated from env."""
    tree: dict[str, Any] = _interpolate_tree(_raw_compose(), env)
    return tree


@dataclass(frozen=True)
class PortRange:
    """An inclusive port range, e.g. 40000-40099 (a single port is lo == hi)."""

    lo: int
    hi: int

    @classmethod
    def parse(cls, text: str) -> PortRange:
        lo, _, hi = text.partition("-")
        low, high = int(lo), int(hi or lo)
        if not 0 < low <= high < 65536:
            raise ValueError(f"not a port range: {text!r}")
        return cls(low, high)

    def overlaps(self, other: PortRange) -> bool:
        return self.lo <= other.hi and other.lo <= self.hi

    def __str__(self) -> str:
        return f"{self.lo}-{self.hi}" if self.hi != self.lo else str(self.lo)


@dataclass(frozen=True)
class Published:
    """A `ports:` entry in compose's short syntax: [IP:]HOST:CONTAINER[/PROTOCOL]."""

    host: PortRange
    container: PortRange
    protocol: str

    @classmethod
    def parse(cls, spec: object) -> Published:
        if not isinstance(spec, str):
            raise ValueError(f"ports entry {spec!r} is not in the short syntax")
        mapping, _, protocol = spec.partition("/")
        parts = mapping.split(":")
        if len(parts) not in (2, 3):
            raise ValueError(f"ports entry {spec!r} does not name both host and container ports")
        return cls(PortRange.parse(parts[-2]), PortRange.parse(parts[-1]), protocol or "tcp")


def published(service: Mapping[str, Any]) -> list[Published]:
    """A service's published ports."""
    return [Published.parse(spec) for spec in service.get("ports", [])]


def flags(command: list[str]) -> dict[str, str]:
    """--name=value (or --name value) options of a command line; a bare flag maps to ''."""
    out: dict[str, str] = {}
    index = 0
    while index < len(command):
        word = command[index]
        if word.startswith("--"):
            name, sep, value = word.partition("=")
            if not sep and index + 1 < len(command) and not command[index + 1].startswith("-"):
                index += 1
                value = command[index]
            out[name] = value
        index += 1
    return out


def coturn_conf() -> dict[str, list[str]]:
    """turnserver.conf's options: name -> values in order ('' for a bare flag)."""
    options: dict[str, list[str]] = {}
    for line in COTURN_CONF.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, _, value = stripped.partition("=")
        options.setdefault(name.strip(), []).append(value.strip())
    return options


def nginx_blocks(name: str) -> list[str]:
    """The bodies of every `name ... { ... }` block in the nginx config (nested braces kept)."""
    text = re.sub(r"#[^\n]*", "", NGINX_CONF.read_text())
    bodies = []
    for match in re.finditer(rf"(?<![\w$]){re.escape(name)}\b[^{{;]*\{{", text):
        depth, start = 1, match.end()
        index = start
        while depth:
            if text[index] == "{":
                depth += 1
            elif text[index] == "}":
                depth -= 1
            index += 1
        bodies.append(text[start : index - 1])
    return bodies


def nginx_upstream(name: str) -> list[str]:
    """The `server` addresses of the nginx upstream called name."""
    text = re.sub(r"#[^\n]*", "", NGINX_CONF.read_text())
    match = re.search(rf"upstream\s+{re.escape(name)}\s*\{{([^}}]*)\}}", text)
    assert match, f"deploy/nginx/tcd-hub.conf has no upstream {name}"
    return re.findall(r"^\s*server\s+(\S+?)(?:\s[^;]*)?;", match[1], flags=re.MULTILINE)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions (continuation lines joined): (KEYWORD, rest)."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            out.append((keyword.upper(), " ".join(rest.split())))
    return out

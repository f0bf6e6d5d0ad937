"""Small network helpers for tests: free ports and waiting for a server to answer."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the caller must still expect a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def redis_answers(port: int, timeout: float = 0.5) -> bool:
    """Whether a Redis server on 127.0.0.1:port answers PING (raw RESP, no client library)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll check() until it returns true or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return bool(check())


def free_udp_port_range(count: int, host: str = "127.0.0.1") -> tuple[int, int]:
    """`count` consecutive UDP ports on host, all free a moment ago, below Linux's ephemeral
    range (32768-60999) so that ports the OS hands out elsewhere do not land in it."""
    import random

    for _attempt in range(200):
        low = random.randrange(20000, 32768 - count)
        socks: list[socket.socket] = []
        try:
            for port in range(low, low + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(sock)
                sock.bind((host, port))
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
        return low, low + count - 1
    raise RuntimeError(f"no {count} consecutive free UDP ports on {host}")

"""`tcd-hub media-worker` processes on loopback for cluster tests: started against a shared
redis-server, stopped (or found already killed) when the test ends."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator


@contextlib.asynccontextmanager
async def media_workers(
    redis_url: str, names: list[str]
) -> AsyncIterator[dict[str, asyncio.subprocess.Process]]:
    """One media worker per name, announcing 127.0.0.1; name -> process (a test may kill one)."""
    workers: dict[str, asyncio.subprocess.Process] = {}
    try:
        for name in names:
            workers[name] = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "hub.cli",
                "media-worker",
                "--redis-url",
                redis_url,
                "--announce-ip",
                "127.0.0.1",
                "--worker-id",
                name,
            )
        yield workers
    finally:
        for process in workers.values():
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
        for process in workers.values():
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()

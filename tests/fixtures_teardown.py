"""Bounded teardown: a hub, browser context or browser that does not stop in time fails its test
at once with every task of the event loop and where it waits, instead of sitting until
pytest-timeout's five minutes and printing only the threads (which say nothing about a loop
waiting on a future)."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Awaitable

import pytest


def tasks_report(limit: int = 12) -> str:
    """Each pending task of the running loop with its coroutine's stack."""
    out = io.StringIO()
    current = asyncio.current_task()
    for task in asyncio.all_tasks():
        if task is current or task.done():
            continue
        out.write(f"--- {task.get_name()}: {task.get_coro()!r}\n")
        task.print_stack(limit=limit, file=out)
    return out.getvalue() or "(no other task)"


async def bounded(awaitable: Awaitable[object], seconds: float, what: str) -> None:
    """Await `awaitable` for at most `seconds`; past that, fail naming `what` and the tasks."""
    task = asyncio.ensure_future(awaitable)
    done, _pending = await asyncio.wait({task}, timeout=seconds)
    if task in done:
        task.result()
        return
    report = tasks_report()
    task.cancel()
    with contextlib.suppress(BaseException):
        await asyncio.wait({task}, timeout=5)
    pytest.fail(f"{what} did not finish within {seconds:.0f} s; the loop's tasks:\n{report}")

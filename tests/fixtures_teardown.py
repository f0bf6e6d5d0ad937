"""Bounded teardown: a hub, browser context or browser that does not stop in time fails its test
at once with every task of the event loop and where it waits, instead of sitting until
pytest-timeout's five minutes and printing only the threads (which say nothing about a loop
waiting on a future)."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Awaitable
from typing import Any

import pytest


def _awaiting(coroutine: Any, limit: int) -> list[str]:
    """Where a suspended coroutine waits, through every coroutine it awaits (a task's own stack
    shows only its outermost frame)."""
    lines: list[str] = []
    while coroutine is not None and len(lines) < limit:
        frame = getattr(coroutine, "cr_frame", None) or getattr(coroutine, "gi_frame", None)
        if frame is not None:
            code = frame.f_code
            lines.append(f"  {code.co_filename}:{frame.f_lineno} in {code.co_name}")
        coroutine = getattr(coroutine, "cr_await", None) or getattr(coroutine, "gi_yieldfrom", None)
    if coroutine is not None:
        lines.append(f"  awaiting {coroutine!r}")
    return lines


def tasks_report(limit: int = 24) -> str:
    """Each pending task of the running loop with the chain of coroutines it waits in."""
    out = io.StringIO()
    current = asyncio.current_task()
    for task in asyncio.all_tasks():
        if task is current or task.done():
            continue
        out.write(f"--- {task.get_name()}\n")
        for line in _awaiting(task.get_coro(), limit):
            out.write(line + "\n")
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

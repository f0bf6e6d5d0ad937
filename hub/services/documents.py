"""Document rendering (the minutes' DOCX and PDF) in a worker process of the app's own, never on
the event loop that carries signaling and media.

A process, not a thread: fpdf2 and python-docx are pure Python, and a thread would hold the
GIL, and so the loop, for the whole rendering (a quarter of a second for a page of minutes). One
worker process started on first use with `spawn` (a fork of a process running an event loop
and threads is unsafe), at a lower priority, and a bounded queue: the rest are answered 503."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from hub.domain.errors import DomainError
from hub.domain.minutes_layout import Layout

log = logging.getLogger(__name__)

T = TypeVar("T")
WORKER_NICENESS = 10
MAX_WAITING = 8


class DocumentWorkersBusy(DomainError):
    """Too many documents are already being rendered: answered at once, not queued."""

    status = 503
    code = "busy"


def _lower_priority() -> None:
    try:
        os.nice(WORKER_NICENESS)
    except OSError:  # the pool's bound alone has to do
        pass


def render_minutes_docx(doc: Layout) -> bytes:
    """In the worker: the minutes' .docx bytes."""
    from hub.services.minutes_docx import render_docx

    return render_docx(doc)


def render_minutes_pdf(doc: Layout) -> bytes:
    """In the worker: the minutes' PDF bytes."""
    from hub.services.minutes_pdf import render_pdf

    return render_pdf(doc)


class DocumentWorkers:
    """The app's document worker process (started on first use, stopped by close())."""

    def __init__(self, processes: int = 1, max_waiting: int = MAX_WAITING) -> None:
        self._processes = processes
        self._max_waiting = max_waiting
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._jobs = 0

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=self._processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_lower_priority,
            )
        return self._pool

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a module-level function in the worker and await its result."""
        if self._jobs >= self._max_waiting:
            raise DocumentWorkersBusy("too many documents are being prepared; try again shortly")
        self._jobs += 1
        loop = asyncio.get_running_loop()
        try:
            try:
                return await loop.run_in_executor(self._executor(), fn, *args)
            except BrokenProcessPool:
                # The worker died (killed, out of memory): a new one for this and later jobs.
                log.warning("the document worker died; starting another")
                self._discard()
                return await loop.run_in_executor(self._executor(), fn, *args)
        finally:
            self._jobs -= 1

    def _discard(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        """Stop the worker process (waits for the job in progress, if any). Blocking."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

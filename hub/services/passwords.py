"""Password hashing and checking (argon2id) on a small thread pool of the app's own, never on
the event loop that carries signaling and media."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hub.domain.errors import DomainError

log = logging.getLogger(__name__)

T = TypeVar("T")

_hasher = PasswordHasher()
# Checking an unknown or disabled account against this costs what checking a real one does, so
# the time of an answer does not tell which accounts exist.
DUMMY_HASH = _hasher.hash("not-a-real-password")

# argon2 works with p=4 lanes, i.e. up to four native threads per check, and those threads
# inherit the nice value of the worker that starts them. Nice 10 weighs about a tenth of the
# event loop's nice 0, so a storm of sign-ins takes what CPU the media leaves over rather than
# an equal share of it.
WORKER_NICENESS = 10  # added to the process's own, up to 19


def hash_password(password: str) -> str:
    """An argon2id hash of the password (blocking: call it through PasswordWorkers on a loop)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches the stored hash (blocking, like hash_password)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class PasswordWorkersBusy(DomainError):
    """Too many passwords are already waiting to be checked: answered at once, not queued."""

    status = 503
    code = "busy"


def _lower_priority() -> None:
    """Pool initializer: make this worker thread (and argon2's lane threads) yield to media."""
    try:
        # Linux keeps a nice value per thread; PRIO_PROCESS with a thread id sets this one's.
        tid = threading.get_native_id()
        os.setpriority(
            os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + WORKER_NICENESS)
        )
    except (AttributeError, OSError):  # not Linux: the pool's bound alone has to do
        log.debug("could not lower the password workers' priority", exc_info=True)


class Place:
    """One claimed place on the pool, for one job."""

    def __init__(self, workers: PasswordWorkers) -> None:
        self._workers = workers
        self.used = False

    async def verify(self, password_hash: str, password: str) -> bool:
        """Whether the password matches, checked on the pool in this place."""
        return await self.run(verify_password, password_hash, password)

    async def run(self, fn: Callable[..., T], *args: str) -> T:
        """Run one blocking function on the pool in this place."""
        if self.used:
            raise RuntimeError("a place on the password pool runs one job")
        future = self._workers._start(fn, *args)
        self.used = True  # from here the job gives the place back
        return await asyncio.wrap_future(future)


class PasswordWorkers:
    """A bounded pool for argon2: `workers` threads, at most `max_waiting` jobs queued behind
    them; one more is refused with PasswordWorkersBusy (503) instead of waiting its turn.

    argon2-cffi releases the GIL, so the event loop keeps running while a check is under way.
    Used from one event loop; the in-flight count is only touched on that loop's thread.
    """

    def __init__(self, workers: int, max_waiting: int) -> None:
        if workers < 1 or max_waiting < 0:
            raise ValueError("password workers need at least one thread and a queue of 0 or more")
        self.workers = workers
        self.capacity = workers + max_waiting
        self._in_flight = 0
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="argon2", initializer=_lower_priority
        )
        self._closed = False

    @property
    def in_flight(self) -> int:
        """Places taken now: jobs running or queued, and places claimed for a job to come."""
        return self._in_flight

    @contextlib.asynccontextmanager
    async def place(self) -> AsyncIterator[Place]:
        """Claim a place on the pool now, before the work that leads up to the check (a
        database read, say): a full pool refuses at once, with nothing done in vain. The place
        is given back on leaving the block unless a job took it, which gives it back when done.
        """
        if self._closed:
            raise PasswordWorkersBusy("the hub is shutting down; try again shortly")
        if self._in_flight >= self.capacity:
            raise PasswordWorkersBusy("the hub is busy checking passwords; try again in a moment")
        self._in_flight += 1
        place = Place(self)
        try:
            yield place
        finally:
            if not place.used:
                self._in_flight -= 1

    async def verify(self, password_hash: str, password: str) -> bool:
        """Whether the password matches, checked on the pool; PasswordWorkersBusy when full."""
        async with self.place() as place:
            return await place.verify(password_hash, password)

    async def hash(self, password: str) -> str:
        """An argon2id hash of the password, computed on the pool; PasswordWorkersBusy when full."""
        async with self.place() as place:
            return await place.run(hash_password, password)

    def _start(self, fn: Callable[..., T], *args: str) -> concurrent.futures.Future[T]:
        """Submit a job for a place already counted; the job's end gives the place back."""
        loop = asyncio.get_running_loop()
        future = self._pool.submit(fn, *args)

        def done(_: concurrent.futures.Future[T]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed: nobody counts
                loop.call_soon_threadsafe(self._finished)

        # Counted down when the job itself ends (or is cancelled before it starts), not when
        # its caller stops waiting: a disconnected client's check still occupies a thread.
        future.add_done_callback(done)
        return future

    def _finished(self) -> None:
        self._in_flight -= 1

    def close(self) -> None:
        """Drop queued jobs and wait for the running ones (at most one check per worker)."""
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)

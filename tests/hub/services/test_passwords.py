"""The password pool: argon2 on the app's own bounded threads, refusing work when full."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from hub.services.passwords import (
    WORKER_NICENESS,
    PasswordWorkers,
    PasswordWorkersBusy,
    hash_password,
)

HASH = hash_password("mật khẩu")


async def test_hashes_and_checks_on_the_pool() -> None:
    workers = PasswordWorkers(workers=1, max_waiting=2)
    try:
        hashed = await workers.hash("mật khẩu")
        assert hashed.startswith("$argon2id$")
        assert await workers.verify(hashed, "mật khẩu")
        assert not await workers.verify(hashed, "mat khau")
        assert not await workers.verify("not a hash", "mật khẩu")
        assert workers.in_flight == 0
    finally:
        workers.close()


async def test_a_full_pool_refuses_at_once_instead_of_queueing() -> None:
    workers = PasswordWorkers(workers=1, max_waiting=3)
    try:
        started = time.monotonic()
        results = await asyncio.gather(
            *(workers.verify(HASH, "wrong") for _ in range(10)), return_exceptions=True
        )
        busy = [r for r in results if isinstance(r, PasswordWorkersBusy)]
        assert results[:4] == [False] * 4
        assert len(busy) == 6 and all(b.status == 503 for b in busy)
        assert workers.in_flight == 0
        # Room again once the checks are done.
        assert await workers.verify(HASH, "mật khẩu")
        assert time.monotonic() - started < 30
    finally:
        workers.close()


async def test_the_event_loop_keeps_running_while_passwords_are_checked() -> None:
    workers = PasswordWorkers(workers=1, max_waiting=8)
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    try:
        tick = asyncio.create_task(ticker())
        checks = [workers.verify(HASH, "wrong") for _ in range(6)]
        await asyncio.gather(*checks)
        done.set()
        await tick
    finally:
        workers.close()
    # Six checks on the loop would stall it for their whole length (well over 0.3 s here).
    assert len(gaps) > 10
    assert max(gaps) < 0.25, f"the loop stalled for {max(gaps):.3f} s"


async def test_password_threads_run_at_a_lower_priority_than_the_loop() -> None:
    before = set(threading.enumerate())
    workers = PasswordWorkers(workers=1, max_waiting=0)
    try:
        await workers.verify(HASH, "wrong")  # starts the worker thread
        (thread,) = [t for t in set(threading.enumerate()) - before if t.name.startswith("argon2")]
        assert thread.native_id is not None
        niceness = os.getpriority(os.PRIO_PROCESS, thread.native_id)
        loop_thread = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        assert niceness == min(19, loop_thread + WORKER_NICENESS)
    finally:
        workers.close()


async def test_a_closed_pool_refuses() -> None:
    workers = PasswordWorkers(workers=1, max_waiting=0)
    workers.close()
    with pytest.raises(PasswordWorkersBusy, match="shutting down"):
        await workers.verify(HASH, "mật khẩu")


async def test_a_place_is_claimed_before_the_work_that_leads_to_the_check() -> None:
    workers = PasswordWorkers(workers=1, max_waiting=0)
    try:
        async with workers.place() as place:
            # While the caller is still reading the hash, nobody else gets in.
            with pytest.raises(PasswordWorkersBusy, match="busy"):
                await workers.verify(HASH, "mật khẩu")
            assert await place.verify(HASH, "mật khẩu")
        assert workers.in_flight == 0
        async with workers.place():
            pass  # claimed but never used: given back on leaving
        assert workers.in_flight == 0
        assert await workers.verify(HASH, "mật khẩu")
    finally:
        workers.close()

"""Revocation reaches open sockets: every connection's grounds are re-checked while it stays
open, every few seconds and at once when the hub says something was revoked.

A socket's rights rest on the token it was opened with (a sign-in, or a join token whose
issuer must still be signed in) and, in a hearing, on being admissible to it (its office still
among the hearing's sites, the hearing not over). The gateway decides both, exactly as for a
new connection or a new join; this module only asks again. Sign-outs and site changes made
through this process poke it; those made through another process (several hub processes on
Redis) are caught by the periodic pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

from hub.domain.errors import DomainError
from hub.services.live import HearingAccess, LiveGateway, Principal
from rooms.self_test import is_self_test_room
from signaling.connection import Connection, rights

logger = logging.getLogger(__name__)

# A revoked sign-in loses its sockets within this many seconds at worst.
REVALIDATE_EVERY = 2.0
# Connections re-checked per gateway call (a bounded IN list; a database round trip each).
BATCH = 500
# After a pass, wait at least this long before the next one (a burst of pokes is one pass).
MIN_GAP = 0.1

Revoke = Callable[[Connection, str, str], Awaitable[None]]
# The connection, its principal as re-checked, the hearing its seat was re-checked in (it may
# have left it meanwhile), and the gateway's answer for that seat.
Reseat = Callable[[Connection, Principal, int, HearingAccess | DomainError], Awaitable[None]]


class Revalidator:
    """Owns the re-checking task; close() cancels it."""

    def __init__(
        self,
        gateway: LiveGateway,
        connections: Callable[[], Iterable[Connection]],
        *,
        revoke: Revoke,
        reseat: Reseat,
        every: float = REVALIDATE_EVERY,
        batch: int = BATCH,
    ) -> None:
        self.gateway = gateway
        self.every = every
        self.batch = batch
        self._connections = connections
        self._revoke = revoke
        self._reseat = reseat
        self._poked = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.passes = 0

    def start(self) -> None:
        """Start the periodic pass (on the running loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def poke(self) -> None:
        """Something was revoked: check every connection now rather than at the next tick."""
        self._poked.set()

    async def close(self) -> None:
        """Stop re-checking."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poked.wait(), self.every)
            self._poked.clear()
            try:
                await self.check_all()
            except Exception:
                logger.exception("signaling: revalidation pass failed")
            await asyncio.sleep(MIN_GAP)

    async def check_all(self) -> None:
        """One pass over every connection, BATCH at a time: one gateway call resolves a batch's
        tokens, one more per hearing its seated connections sit in (a pass over thousands of
        sockets is a handful of database round trips, not thousands)."""
        live = [c for c in list(self._connections()) if not c.revoked]
        for start in range(0, len(live), self.batch):
            await self._check_batch(live[start : start + self.batch])
        self.passes += 1

    async def _check_batch(self, batch: list[Connection]) -> None:
        """Re-check some connections: their tokens, then their seats in hearings."""
        try:
            outcomes = await self.gateway.authenticate_many([c.token for c in batch])
        except Exception:
            # The database is away: keep the connections and ask again next time.
            logger.warning(
                "signaling: could not re-check %d connections", len(batch), exc_info=True
            )
            return
        seated: dict[int, list[tuple[Connection, Principal]]] = {}
        for connection in batch:
            if connection.revoked:
                continue  # revoked meanwhile (while one before it was being cut)
            outcome = outcomes[connection.token]
            if isinstance(outcome, DomainError):
                await self._revoke(connection, outcome.code, outcome.message)
            elif rights(outcome) != rights(connection.principal):
                await self._revoke(
                    connection, "unauthorized", "your account changed; connect again to go on"
                )
            elif connection.room is not None and not is_self_test_room(connection.room.hearing_id):
                # (A self-test's seat rests on the sign-in alone, re-checked above.)
                seated.setdefault(connection.room.hearing_id, []).append((connection, outcome))
        for hearing_id, pairs in seated.items():
            try:
                seats = await self.gateway.admit_many(hearing_id, [p for _c, p in pairs])
            except Exception:
                logger.warning(
                    "signaling: could not re-check the seats in hearing %s",
                    hearing_id,
                    exc_info=True,
                )
                continue
            for (connection, principal), seat in zip(pairs, seats, strict=True):
                await self._reseat(connection, principal, hearing_id, seat)

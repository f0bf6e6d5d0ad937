"""The database: one async engine and session factory per app, SQLite or PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from hub.config import Settings

# Set on every PostgreSQL connection of the hub.
POSTGRES_SESSION_SETTINGS = {
    # JIT pays off for long analytical queries, but the planner's cost threshold is reached by
    # the register's counts and pages on two million petitions, and compiling costs each such
    # query tens of milliseconds more than it saves.
    "jit": "off",
    # asyncpg prepares every statement, and after five runs PostgreSQL may keep a generic plan
    # made without the values. A register search's plan hangs on them (how common the words
    # are, how large the office's subtree): a generic plan for "ng" bitmap-scanned and sorted a
    # million rows (10-25 s) where the plan for the value walks the date index (20 ms).
    "plan_cache_mode": "force_custom_plan",
}


# A pooled PostgreSQL connection idle this long is checked before it is used (_ping_when_idle).
PING_AFTER_IDLE_S = 10.0


def make_engine(url: str, *, ping_after_idle_s: float = PING_AFTER_IDLE_S) -> AsyncEngine:
    """An engine with the per-dialect settings the hub relies on."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # WAL lets readers run beside the one writer; foreign keys are off by default.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    engine = create_async_engine(
        url,
        pool_size=10,
        max_overflow=10,
        # The connection last returned is the next handed out: under light load one or two
        # stay in use (their server processes' caches warm) and the rest idle, to be checked
        # on their next use (below); under heavy load all are in use anyway.
        pool_use_lifo=True,
        connect_args={"server_settings": dict(POSTGRES_SESSION_SETTINGS)},
    )
    _ping_when_idle(engine, ping_after_idle_s)
    return engine


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Check a pooled connection before its use only when it has idled `idle_seconds`.

    SQLAlchemy's pool_pre_ping checks every checkout, and asyncpg's check is three round trips
    (BEGIN, an empty query, ROLLBACK): a request that takes two connections spent six round
    trips, about a tenth of the hub's CPU, making sure of connections used milliseconds
    before. What the check is for (a server restarted, a connection cut by a firewall or a
    proxy after idling) strikes idle connections; a connection lost while in use fails its
    statement as it would anyway, and SQLAlchemy then discards every connection older than
    the failure, so the next requests connect afresh."""

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            # The pool discards this connection and hands out a new one.
            raise DisconnectionError(f"pooled connection lost while idle: {exc}") from exc


class Database:
    """Owns the engine; `transaction()` gives one session = one transaction per request."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        """Whether the back end is SQLite (search and locking differ)."""
        return self.url.startswith("sqlite")

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """The database the settings name (SQLite under data_dir by default)."""
        if not settings.database_url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(settings.effective_database_url)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits on success and rolls back whole on any error."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reads(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads that need no transaction of their own, each statement seeing
        the database as it is when it runs (on PostgreSQL no BEGIN and COMMIT round trips):
        the one query resolving a request's sign-in."""
        async with self.engine.connect() as connection:
            yield await connection.execution_options(isolation_level="AUTOCOMMIT")

    async def close(self) -> None:
        """Dispose of the engine's connections."""
        await self.engine.dispose()

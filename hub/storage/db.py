"""The database: one async engine and session factory per app, SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
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


def make_engine(url: str) -> AsyncEngine:
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
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        connect_args={"server_settings": dict(POSTGRES_SESSION_SETTINGS)},
    )


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

    async def close(self) -> None:
        """Dispose of the engine's connections."""
        await self.engine.dispose()

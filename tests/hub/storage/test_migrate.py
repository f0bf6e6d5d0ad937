"""Alembic migrations on both back ends: up to head, down to base, and up again."""

from __future__ import annotations

import asyncio

from alembic import command
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.config import Settings
from hub.storage.db import make_engine
from hub.storage.migrate import alembic_config, upgrade
from hub.storage.tables import Base

TABLES = set(Base.metadata.tables)


async def _schema(url: str) -> tuple[set[str], set[str]]:
    """(table names, names of indexes on petitions) as the database reports them."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_inspect)
    finally:
        await engine.dispose()


def _inspect(sync_conn: AsyncConnection) -> tuple[set[str], set[str]]:
    inspector = inspect(sync_conn)
    tables = set(inspector.get_table_names())
    indexes = (
        {i["name"] for i in inspector.get_indexes("petitions")} if "petitions" in tables else set()
    )
    return tables, {n for n in indexes if n}


async def test_migrations_apply_downgrade_to_base_and_apply_again(db_url: str) -> None:
    await upgrade(Settings(database_url=db_url))
    tables, indexes = await _schema(db_url)
    assert tables >= TABLES | {"alembic_version"}
    if db_url.startswith("sqlite"):
        assert "petitions_fts" in tables  # the FTS5 search index
    else:
        assert "ix_petitions_search_vector" in indexes  # the GIN index on the stored tsvector
    assert {"ix_petitions_received", "ix_petitions_office_received"} <= indexes
    # The periodic reports' (0016).
    assert {
        "ix_petitions_office_subject",
        "ix_petitions_status_deadline",
        "ix_petitions_in_person",
    } <= indexes

    await asyncio.to_thread(command.downgrade, alembic_config(db_url), "base")
    tables, _ = await _schema(db_url)
    assert tables - {"alembic_version"} == set()

    await upgrade(Settings(database_url=db_url))
    await upgrade(Settings(database_url=db_url))  # a second run is a no-op
    tables, _ = await _schema(db_url)
    assert tables >= TABLES

"""`tcd-hub bench api` on PostgreSQL: a scratch database on the server the user names, and the
synthetic register bulk-loaded into it with COPY, on the schema the Alembic migrations made."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # no stubs; the hub itself uses it via SQLAlchemy
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bench.register import Batch, Office, Register, petition_batches
from hub.storage.db import POSTGRES_SESSION_SETTINGS

SCRATCH_PREFIX = "tcdhub_bench_"
# The tables the load fills; their secondary indexes and constraints are lifted meanwhile.
LOADED = ("petitions", "petition_history")
# And the rollup of totals (migration 0005), whose rows each COPY batch's trigger rewrote.
VACUUMED = (*LOADED, "petition_counts")
# Server settings worth knowing beside the figures: the bench uses the server as it finds it.
REPORTED_SETTINGS = (
    "shared_buffers",
    "work_mem",
    "effective_cache_size",
    "random_page_cost",
    "jit",
    "max_parallel_workers_per_gather",
)


def is_postgres(url: str) -> bool:
    """Whether a database URL names PostgreSQL (through asyncpg, the hub's driver)."""
    try:
        return make_url(url).get_backend_name() == "postgresql"
    except ArgumentError:
        return False


def _dsn(url: str) -> str:
    """An asyncpg DSN for a SQLAlchemy URL (same server, user and database)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Scratch:
    """A database of the bench's own on the server of `server_url`."""

    server_url: str
    name: str

    @property
    def url(self) -> str:
        """The scratch database's SQLAlchemy URL (postgresql+asyncpg://...)."""
        return make_url(self.server_url).set(database=self.name).render_as_string(False)

    async def create(self) -> None:
        """Create it empty (dropping a leftover of the same name: the name holds our pid)."""
        await self._run(f"DROP DATABASE IF EXISTS {_quoted(self.name)} WITH (FORCE)")
        await self._run(f"CREATE DATABASE {_quoted(self.name)}")

    async def drop(self) -> None:
        """Drop it, cutting any connection still open (FORCE)."""
        await self._run(f"DROP DATABASE IF EXISTS {_quoted(self.name)} WITH (FORCE)")

    async def _run(self, sql: str) -> None:
        try:
            conn = await asyncpg.connect(_dsn(self.server_url), timeout=10)
        except (OSError, asyncpg.PostgresError) as exc:
            raise RuntimeError(
                f"cannot connect to the PostgreSQL server of --database-url: {exc}"
            ) from exc
        try:
            await conn.execute(sql)
        finally:
            await conn.close()


def scratch(server_url: str, name: str | None = None) -> Scratch:
    """The scratch database `tcdhub_bench_<pid>` (or `name`) on the server of `server_url`."""
    if not is_postgres(server_url):
        raise RuntimeError(f"--database-url must be postgresql+asyncpg://..., not {server_url!r}")
    return Scratch(server_url, name or f"{SCRATCH_PREFIX}{os.getpid()}")


@dataclass(frozen=True)
class _Lifted:
    """A table's secondary indexes and constraints, as the migrations defined them."""

    table: str
    constraints: list[tuple[str, str]]
    indexes: list[tuple[str, str]]


async def _definitions(conn: asyncpg.Connection, table: str) -> _Lifted:
    """The table's unique and foreign-key constraints and its indexes that back none."""
    constraints = [
        (r["conname"], r["definition"])
        for r in await conn.fetch(
            "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
            "WHERE conrelid = $1::regclass AND contype IN ('u', 'f') ORDER BY conname",
            table,
        )
    ]
    indexes = [
        (r["relname"], r["definition"])
        for r in await conn.fetch(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) AS definition FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::regclass "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
            "ORDER BY c.relname",
            table,
        )
    ]
    return _Lifted(table, constraints, indexes)


async def _lift(conn: asyncpg.Connection, table: str) -> _Lifted:
    """Drop the table's unique and foreign-key constraints and its other indexes, keeping
    their definitions: COPY then appends rows to the heap and the primary key alone, and each
    index is built once, sorted, instead of taking 2M random inserts (the reason the SQLite
    load lifts the FTS triggers)."""
    lifted = await _definitions(conn, table)
    for name, _definition in lifted.constraints:
        await conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {_quoted(name)}")
    for name, _definition in lifted.indexes:
        await conn.execute(f"DROP INDEX {_quoted(name)}")
    return lifted


async def _restore(conn: asyncpg.Connection, lifted: _Lifted) -> None:
    """Put back exactly what _lift took away (the constraints validate every loaded row)."""
    for name, definition in lifted.constraints:
        await conn.execute(
            f"ALTER TABLE {lifted.table} ADD CONSTRAINT {_quoted(name)} {definition}"
        )
    for _name, definition in lifted.indexes:
        await conn.execute(definition)
    if await _definitions(conn, lifted.table) != lifted:
        raise RuntimeError(f"the bench load changed the schema of {lifted.table}")


def _records(batch: Batch, columns: tuple[list[str], list[str]]) -> tuple[list[Any], list[Any]]:
    """A batch as COPY records, in the column order given (JSON columns as their text)."""
    rows, history = batch
    petition_columns, history_columns = columns
    out = []
    for row in rows:
        row["representatives"] = json.dumps(row["representatives"], ensure_ascii=False)
        out.append(tuple(row[c] for c in petition_columns))
    return out, [tuple(h[c] for c in history_columns) for h in history]


def _next_records(
    batches: Iterator[Batch], columns: tuple[list[str], list[str]] | None
) -> tuple[tuple[list[str], list[str]], tuple[list[Any], list[Any]]] | None:
    batch = next(batches, None)
    if batch is None:
        return None
    if columns is None:
        columns = (list(batch[0][0]), list(batch[1][0]))
    return columns, _records(batch, columns)


@dataclass
class Loaded:
    """What copy_petitions did: petition ids by office path, and how long each step took."""

    by_path: dict[str, list[int]]
    seconds: dict[str, float]


async def copy_petitions(url: str, count: int) -> Loaded:
    """COPY `count` petitions with their history into the migrated database at `url`, then
    put the indexes back, VACUUM and ANALYZE."""
    conn = await asyncpg.connect(_dsn(url), timeout=10)
    try:
        offices = [
            Office(r["id"], r["code"], r["level"], r["path"])
            for r in await conn.fetch("SELECT id, code, level, path FROM offices")
        ]
        creator = int(await conn.fetchval("SELECT id FROM users WHERE username = 'staff'"))
        first_id = int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM petitions"))
        sequences = {r["name"]: r["value"] for r in await conn.fetch("SELECT * FROM sequences")}
        register = Register(creator, sequences)
        batches = petition_batches(offices, count, first_id + 1, register)
        seconds: dict[str, float] = {}
        clock = time.perf_counter()
        async with conn.transaction():
            # Index builds sort in memory this large, not in temporary files.
            await conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
            lifted = [await _lift(conn, table) for table in LOADED]
            # The next batch is generated in a thread (Python) while the server takes the
            # current one (COPY, and the stored tsvectors it computes), so the two overlap.
            ahead = asyncio.ensure_future(asyncio.to_thread(_next_records, batches, None))
            while (done := await ahead) is not None:
                columns, (rows, history) = done
                ahead = asyncio.ensure_future(asyncio.to_thread(_next_records, batches, columns))
                await conn.copy_records_to_table("petitions", records=rows, columns=columns[0])
                await conn.copy_records_to_table(
                    "petition_history", records=history, columns=columns[1]
                )
            seconds["copy"] = round(time.perf_counter() - clock, 1)
            clock = time.perf_counter()
            for one in lifted:
                await _restore(conn, one)
            seconds["indexes_and_constraints"] = round(time.perf_counter() - clock, 1)
            # Ids were given explicitly; the next petition registered must not reuse one.
            await conn.execute(
                "SELECT setval(pg_get_serial_sequence('petitions', 'id'), "
                "(SELECT max(id) FROM petitions))"
            )
            await conn.execute(
                "INSERT INTO sequences (name, value) SELECT * FROM unnest($1::text[], $2::int[]) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                list(register.sequences),
                list(register.sequences.values()),
            )
        # A register filled over years has been vacuumed by autovacuum all along: its pages are
        # all-visible and index-only scans skip the heap. A COPY just made has not, and would
        # be measured in a state production never stays in; VACUUM sets it, ANALYZE the stats.
        clock = time.perf_counter()
        await conn.execute(f"VACUUM (ANALYZE) {', '.join(VACUUMED)}")
        seconds["vacuum_analyze"] = round(time.perf_counter() - clock, 1)
    finally:
        await conn.close()
    return Loaded(register.by_path, seconds)


async def petitions_by_path(url: str) -> dict[str, list[int]]:
    """Petition ids by office path of a database loaded before (--reuse-database)."""
    conn = await asyncpg.connect(_dsn(url), timeout=10)
    try:
        rows = await conn.fetch(
            "SELECT o.path, array_agg(p.id ORDER BY p.id) AS ids FROM petitions p "
            "JOIN offices o ON o.id = p.office_id GROUP BY o.path"
        )
    finally:
        await conn.close()
    return {r["path"]: list(r["ids"]) for r in rows}


async def backend_pids(url: str) -> list[int]:
    """The process ids of the server processes serving the connections open to the database
    at `url` (other than the one asking)."""
    conn = await asyncpg.connect(_dsn(url), timeout=10)
    try:
        pids = [
            int(r["pid"])
            for r in await conn.fetch(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]
    finally:
        await conn.close()
    return pids


async def server_facts(url: str) -> dict[str, Any]:
    """The server's version, the settings that shape the figures, and the register's size."""
    conn = await asyncpg.connect(_dsn(url), timeout=10)
    try:
        settings = {
            name: await conn.fetchval("SELECT current_setting($1)", name)
            for name in REPORTED_SETTINGS
        }
        return {
            "server_version": await conn.fetchval("SHOW server_version"),
            "settings": settings,
            # What the hub sets on its own connections, over the server's settings above.
            "hub_session_settings": dict(POSTGRES_SESSION_SETTINGS),
            "database_size_mb": round(
                int(await conn.fetchval("SELECT pg_database_size(current_database())")) / 2**20
            ),
        }
    finally:
        await conn.close()

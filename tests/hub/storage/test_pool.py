"""The PostgreSQL pool checks a connection before its use only after it idled: one whose server
process went away meanwhile (a restart, a proxy's idle timeout) is replaced, not handed out."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hub.storage.db import make_engine

pytestmark = pytest.mark.postgres


async def _terminate(url: str, pid: int) -> None:
    killer = make_engine(url)
    try:
        async with killer.connect() as connection:
            ended = (
                await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            ).scalar_one()
            assert ended is True
    finally:
        await killer.dispose()


async def test_a_connection_lost_while_idle_is_replaced_before_use(postgres_url: str) -> None:
    # 0 s: every pooled connection counts as idle, so the check runs on the next checkout.
    engine = make_engine(postgres_url, ping_after_idle_s=0)
    try:
        async with engine.connect() as connection:
            lost = int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        await _terminate(postgres_url, lost)
        async with engine.connect() as connection:
            now = int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        assert now != lost
    finally:
        await engine.dispose()


async def test_a_connection_used_moments_ago_is_handed_out_unchecked(postgres_url: str) -> None:
    # An hour: the connection just returned is not checked (no round trips), so the loss shows
    # on its next statement, which fails as any statement on a lost connection does; the pool
    # then discards it, and the next checkout connects afresh.
    engine = make_engine(postgres_url, ping_after_idle_s=3600)
    try:
        async with engine.connect() as connection:
            lost = int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        await _terminate(postgres_url, lost)
        with pytest.raises(DBAPIError):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        async with engine.connect() as connection:
            now = int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        assert now != lost
    finally:
        await engine.dispose()

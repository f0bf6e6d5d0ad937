"""One page of a query's rows and the count of all of them, as every listing answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def page_of(
    session: AsyncSession,
    query: Select[Any],
    order_by: Sequence[Any],
    limit: int,
    offset: int,
) -> tuple[Sequence[Row[Any]], int]:
    """The rows of `query` from `offset`, at most `limit`, in `order_by`'s order, and how many
    rows the whole query has (counted over the same conditions, so the two never disagree)."""
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = (await session.execute(query.order_by(*order_by).limit(limit).offset(offset))).all()
    return rows, int(total)

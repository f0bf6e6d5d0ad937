"""A text search of the register on PostgreSQL: the newest petitions walked first, the GIN
index only for what the walk cannot settle.

The planner picks between walking the newest-first index (testing each row's tsvector) and the
GIN index (a bitmap of every match, then sorted) by its guess of how many rows match, and words
of one petition are far from independent: "thu hồi đất" was guessed at 40 000 of 2 000 000 and
matched 190 000, so it built bitmaps of hundreds of thousands of rows (seconds) where the walk
finds a page in a few hundred. Here the walk comes first, bounded: the newest `walk_rows`
petitions under the filters. More than `cap` matches among them settle that the total is not
told and hold the page; fewer than `walk_rows` petitions under the filters are all walked; only
a search rare among the newest goes to the GIN index, where its bitmap is small.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, bindparam, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.storage.tables import PetitionRow


class Walked(NamedTuple):
    """How many match (exactly, else cap + 1 for "more than cap"), the page's ids, and whether
    another page follows."""

    matches: int
    exact: bool
    ids: list[int]
    has_more: bool


def _matching(vector: ColumnElement[Any], ts_query: str) -> ColumnElement[bool]:
    query = func.to_tsquery(literal_column("'simple'"), bindparam("q", ts_query))
    return vector.bool_op("@@")(query)


async def walk_search(
    session: AsyncSession,
    conditions: list[Any],
    vector_column: str,
    ts_query: str,
    *,
    limit: int,
    offset: int,
    cap: int,
    walk_rows: int,
) -> Walked:
    """One page of petitions under `conditions` whose `vector_column` matches `ts_query`,
    newest first."""
    vector: ColumnElement[Any] = literal_column(f"petitions.{vector_column}")

    def newest(rows: int, *columns: Any) -> Any:
        # The newest `rows` petitions under the filters, in order; LIMIT keeps the planner
        # from turning the walk into a bitmap of the text index.
        return (
            select(*columns)
            .where(*conditions)
            .order_by(PetitionRow.received_on.desc(), PetitionRow.id.desc())
            .limit(rows)
            .subquery("newest")
        )

    def window() -> Any:
        return newest(walk_rows, PetitionRow.id, PetitionRow.received_on, vector.label("vector"))

    async def count(statement: Any) -> int:
        counted = select(func.count()).select_from(statement.subquery())
        return int((await session.execute(counted)).scalar_one())

    async def page(statement: Any, received_on: Any, id_: Any) -> list[int]:
        ordered = statement.order_by(received_on.desc(), id_.desc())
        return list((await session.execute(ordered.limit(limit + 1).offset(offset))).scalars())

    walk = window()
    seen = await count(select(walk.c.id).where(_matching(walk.c.vector, ts_query)).limit(cap + 1))
    in_walk = select(walk.c.id).where(_matching(walk.c.vector, ts_query))
    hit = _matching(vector, ts_query)
    everywhere = select(PetitionRow.id).where(*conditions, hit)
    if seen > cap:
        # Common enough that more than `cap` are among the newest: no total, and a page
        # within the first `cap` matches is among them too.
        if offset + limit + 1 <= seen:
            ids = await page(in_walk, walk.c.received_on, walk.c.id)
        else:
            ids = await page(everywhere, PetitionRow.received_on, PetitionRow.id)
        return Walked(cap + 1, False, ids[:limit], len(ids) > limit)
    # Fewer than walk_rows petitions under the filters: the walk saw them all.
    ids_under_filters = newest(walk_rows, PetitionRow.id)
    under_filters = await count(select(ids_under_filters.c.id))
    if under_filters < walk_rows:
        ids = await page(in_walk, walk.c.received_on, walk.c.id) if seen > offset else []
        return Walked(seen, True, ids[:limit], len(ids) > limit)
    # Rare among the newest: the text index finds the rest. Counting stops at cap + 1.
    total = await count(everywhere.limit(cap + 1))
    if total <= min(offset, cap):
        return Walked(total, True, [], False)
    if seen > offset + limit:
        # The page (and the row after it) lie among the newest, already walked.
        ids = await page(in_walk, walk.c.received_on, walk.c.id)
    else:
        ids = await page(everywhere, PetitionRow.received_on, PetitionRow.id)
    return Walked(total, total <= cap, ids[:limit], len(ids) > limit)

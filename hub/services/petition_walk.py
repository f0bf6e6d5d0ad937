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

import json
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, bindparam, func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.storage.tables import PetitionRow


class Walked(NamedTuple):
    """How many match (exactly, else cap + 1 for "more than cap"), the page's ids, and whether
    another page follows."""

    matches: int
    exact: bool
    ids: list[int]
    has_more: bool


def _tsquery(ts_query: str, name: str = "q") -> ColumnElement[Any]:
    return func.to_tsquery(literal_column("'simple'"), bindparam(name, ts_query))


def _matching(vector: ColumnElement[Any], ts_query: str) -> ColumnElement[bool]:
    return vector.bool_op("@@")(_tsquery(ts_query))


async def _rarest(session: AsyncSession, vector_column: str, words: list[str]) -> str:
    """The word the fewest petitions match, by the planner's own estimate of each alone (from
    its statistics of the commonest words; a planning round trip each, no row read). Neither
    the longest word nor the last is a safe guess: in "âu dương" the short "âu" is rare and
    "dương" also a district of Hải Phòng."""
    if len(words) == 1:
        return words[0]
    estimates = []
    for word in words:
        plan = await session.execute(
            text(
                f"EXPLAIN (FORMAT JSON) SELECT 1 FROM petitions "
                f"WHERE {vector_column} @@ to_tsquery('simple', :word)"
            ).bindparams(word=word)
        )
        raw = plan.scalar_one()
        # asyncpg hands json over as its text.
        explained = json.loads(raw) if isinstance(raw, str) else raw
        estimates.append((float(explained[0]["Plan"]["Plan Rows"]), word))
    return min(estimates)[1]


def _indexed(vector: ColumnElement[Any], ts_query: str, index_query: str) -> list[Any]:
    """The GIN index looks up `index_query` (the rarest word) alone; each row it finds is then
    checked against the whole query. Given every word, the index would gather each prefix's
    rows in full before intersecting them: "hy 2025 000123" gathered every petition of HY and
    of 2025 (a quarter of the register) to find one. ts_match_vq is @@ spelled as a function,
    which no index answers."""
    found = vector.bool_op("@@")(_tsquery(index_query, "iq"))
    if index_query == ts_query:
        return [found]
    return [found, func.ts_match_vq(vector, _tsquery(ts_query)).is_(True)]


async def walk_search(
    session: AsyncSession,
    conditions: list[Any],
    vector_column: str,
    words: list[str],
    *,
    limit: int,
    offset: int,
    cap: int,
    walk_rows: int,
) -> Walked:
    """One page of petitions under `conditions` whose `vector_column` matches every one of
    `words` (tsquery terms), newest first."""
    ts_query = " & ".join(words)
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

    async def everywhere() -> Any:
        index_query = await _rarest(session, vector_column, words)
        return select(PetitionRow.id).where(*conditions, *_indexed(vector, ts_query, index_query))

    if seen > cap:
        # Common enough that more than `cap` are among the newest: no total, and a page
        # within the first `cap` matches is among them too.
        if offset + limit + 1 <= seen:
            ids = await page(in_walk, walk.c.received_on, walk.c.id)
        else:
            ids = await page(await everywhere(), PetitionRow.received_on, PetitionRow.id)
        return Walked(cap + 1, False, ids[:limit], len(ids) > limit)
    # Fewer than walk_rows petitions under the filters: the walk saw them all.
    ids_under_filters = newest(walk_rows, PetitionRow.id)
    under_filters = await count(select(ids_under_filters.c.id))
    if under_filters < walk_rows:
        ids = await page(in_walk, walk.c.received_on, walk.c.id) if seen > offset else []
        return Walked(seen, True, ids[:limit], len(ids) > limit)
    # Rare among the newest: the text index finds the rest. Counting stops at cap + 1.
    indexed = await everywhere()
    total = await count(indexed.limit(cap + 1))
    if total <= min(offset, cap):
        return Walked(total, True, [], False)
    if seen > offset + limit:
        # The page (and the row after it) lie among the newest, already walked.
        ids = await page(in_walk, walk.c.received_on, walk.c.id)
    else:
        ids = await page(indexed, PetitionRow.received_on, PetitionRow.id)
    return Walked(total, total <= cap, ids[:limit], len(ids) > limit)

"""A text search of the register on PostgreSQL: the newest petitions walked first, the GIN
index only for what the walk cannot settle, or first for a word rare in the whole register.

The planner picks between walking the newest-first index (testing each row's tsvector) and the
GIN index (a bitmap of every match, then sorted) by its guess of how many rows match, and words
of one petition are far from independent: "thu hồi đất" was guessed at 40 000 of 2 000 000 and
matched 190 000, so it built bitmaps of hundreds of thousands of rows (seconds) where the walk
finds a page in a few hundred. Here the walk comes first, bounded: the newest `walk_rows`
petitions under the filters. More than `cap` matches among them settle that the total is not
told and hold the page; fewer than `walk_rows` petitions under the filters are all walked; a
search rare among the newest goes to the GIN index, where its bitmap is small.

The guess of one word alone is good (within 2 % on two million petitions, or above the truth),
and the rarest word decides: one the planner expects in fewer petitions than the walk would
read, or so rarely that the walk would not find `cap` of them, is looked up in the GIN index
first. Either way, a search matching at most `sort_up_to` petitions has them all gathered from
the GIN index, filtered and sorted in one statement (its exact total with them), instead of a
walk down the date index until the page is found (54 000 rows read, 80 ms, for a name that 2 115
petitions hold).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    MetaData,
    Table,
    bindparam,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.util import ClauseAdapter

from hub.storage.tables import PetitionRow

# The table with the tsvector columns of migrations 0003 and 0004, which the ORM does not map
# (PostgreSQL only).
PETITIONS = Table(
    "petitions",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("search_vector", TSVECTOR),
    Column("personal_vector", TSVECTOR),
)


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


class _Guesses(NamedTuple):
    """The planner's guesses: each word's rows alone, rarest first, and the register's rows."""

    words: list[tuple[float, str]]
    register: float


async def _guesses(session: AsyncSession, vector_column: str, words: list[str]) -> _Guesses:
    """How many petitions the planner expects each word alone to match (from its statistics
    of the commonest words), and the register to hold: one EXPLAIN of them all as branches of
    a UNION ALL (one planning round trip, no row read). Neither the longest word nor the last
    is a safe guess of the rarest: in "âu dương" the short "âu" is rare and "dương" also a
    district of Hải Phòng. On two million petitions the guesses of single words were within
    2 % of the truth, or above it (a word outside the statistics is guessed at their floor,
    1,866, and matched 0 or 48); the guess of several words together is what goes wrong (the
    planner takes them as independent)."""
    branches = [
        f"SELECT 1 FROM petitions WHERE {vector_column} @@ to_tsquery('simple', :w{n})"
        for n in range(len(words))
    ]
    sql = " UNION ALL ".join([*branches, "SELECT 1 FROM petitions"])
    binds = {f"w{n}": word for n, word in enumerate(words)}
    plan = await session.execute(text(f"EXPLAIN (FORMAT JSON) {sql}").bindparams(**binds))
    raw = plan.scalar_one()
    # asyncpg hands json over as its text.
    top = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    parts = top.get("Plans", []) if top.get("Node Type") == "Append" else []
    if len(parts) != len(words) + 1:
        raise RuntimeError(f"unexpected plan of the word guesses: {top.get('Node Type')}")
    rows = [max(1.0, float(part["Plan Rows"])) for part in parts]
    return _Guesses(sorted(zip(rows[:-1], words, strict=True)), rows[-1])


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
    sort_up_to: int,
) -> Walked:
    """One page of petitions under `conditions` whose `vector_column` matches every one of
    `words` (tsquery terms), newest first.

    A word the planner expects in fewer than `walk_rows` petitions is looked up in the text
    index first (fewer rows read than a walk would); a walk of the newest comes first for any
    other, and the text index only when the walk finds the search rare among the newest."""
    ts_query = " & ".join(words)
    vector: ColumnElement[Any] = literal_column(f"petitions.{vector_column}")
    guesses = await _guesses(session, vector_column, words)
    estimated, rarest = guesses.words[0]
    indexed = select(PetitionRow.id).where(*conditions, *_indexed(vector, ts_query, rarest))

    async def sorted_matches() -> Walked | None:
        # Every match of the text, from the text index, then the filters and the sort: one
        # statement counting them and cutting the page; None when more than `sort_up_to`
        # petitions match the text (too many to sort; the filters are not counted in, so the
        # rows read stay bounded by the planner's guess of the rarest word, which is good).
        # MATERIALIZED: the matches gathered in full from the text index, never walked down
        # the date index in the page's order (which the planner picks when it guesses many),
        # and the filters tested on the rows gathered instead of ANDed in from their indexes
        # (a province's offices were a bitmap of 430,000 entries, 58 ms, to find 478 of 2,115).
        text_matches = (
            select(
                PetitionRow.id,
                PetitionRow.received_on,
                PetitionRow.office_id,
                PetitionRow.type,
                PetitionRow.status,
                PetitionRow.crowd,
                # Every column a filter may name (the due views: the deadline), or the filter
                # would name the table beside the CTE: a cartesian product.
                PetitionRow.handling_deadline,
            )
            .where(*_indexed(vector, ts_query, rarest))
            .limit(sort_up_to + 1)
            .cte("text_matches")
            .prefix_with("MATERIALIZED")
        )
        on_matches = ClauseAdapter(text_matches)
        found = (
            select(text_matches.c.id, text_matches.c.received_on)
            .where(*(on_matches.traverse(c) for c in conditions))
            .cte("found")
            .prefix_with("MATERIALIZED")
        )
        cut = (
            select(found.c.id, found.c.received_on)
            .order_by(found.c.received_on.desc(), found.c.id.desc())
            .limit(limit + 1)
            .offset(offset)
            .subquery("cut")
        )
        in_order = aggregate_order_by(cut.c.id, cut.c.received_on.desc(), cut.c.id.desc())
        row = (
            await session.execute(
                select(
                    select(func.count()).select_from(text_matches).scalar_subquery().label("text"),
                    select(func.count()).select_from(found).scalar_subquery().label("total"),
                    select(func.array_agg(in_order)).scalar_subquery().label("ids"),
                )
            )
        ).one()
        if int(row.text) > sort_up_to:
            return None
        total, ids = int(row.total), list(row.ids or [])
        return Walked(min(total, cap + 1), total <= cap, ids[:limit], len(ids) > limit)

    tried_index = estimated <= sort_up_to and (
        # Fewer rows to read from the text index than a walk would read...
        estimated < walk_rows
        # ...or so few among the newest that a walk would most likely not find `cap` of them
        # and the text index would be read after it anyway.
        or estimated * walk_rows <= cap * guesses.register
    )
    if tried_index:
        found = await sorted_matches()
        if found is not None:
            return found

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
        # The window's ids and dates come from a covering index alone; each row's tsvector is
        # then read by its primary key, in the window's order, only until enough match: a
        # subquery per row, which the planner cannot turn into a join answered from the text
        # index (its guess of several words' rows is what the walk is there not to trust).
        # With the tsvector in the window itself, a selective filter (a province's crowd
        # cases) had the planner fetch every row under the filters and sort them, tsvectors
        # and all, on disk (350 ms) where the walk needed 2,700 of them (13 ms).
        ids = newest(walk_rows, PetitionRow.id, PetitionRow.received_on)
        walked = PETITIONS.alias("walked")
        tsvector = select(walked.c[vector_column]).where(walked.c.id == ids.c.id).scalar_subquery()
        return select(ids.c.id, ids.c.received_on, tsvector.label("vector")).subquery("window")

    async def count(statement: Any) -> int:
        counted = select(func.count()).select_from(statement.subquery())
        return int((await session.execute(counted)).scalar_one())

    async def page(statement: Any, received_on: Any, id_: Any) -> list[int]:
        ordered = statement.order_by(received_on.desc(), id_.desc())
        return list((await session.execute(ordered.limit(limit + 1).offset(offset))).scalars())

    walk = window()
    seen = await count(select(walk.c.id).where(_matching(walk.c.vector, ts_query)).limit(cap + 1))
    in_walk = select(walk.c.id).where(_matching(walk.c.vector, ts_query))

    if seen > cap:
        # Common enough that more than `cap` are among the newest: no total, and a page
        # within the first `cap` matches is among them too.
        if offset + limit + 1 <= seen:
            ids = await page(in_walk, walk.c.received_on, walk.c.id)
        else:
            ids = await page(indexed, PetitionRow.received_on, PetitionRow.id)
        return Walked(cap + 1, False, ids[:limit], len(ids) > limit)
    # Fewer than walk_rows petitions under the filters: the walk saw them all.
    ids_under_filters = newest(walk_rows, PetitionRow.id)
    under_filters = await count(select(ids_under_filters.c.id))
    if under_filters < walk_rows:
        ids = await page(in_walk, walk.c.received_on, walk.c.id) if seen > offset else []
        return Walked(seen, True, ids[:limit], len(ids) > limit)
    # Rare among the newest: the text index finds the rest, sorted if there are few enough.
    if not tried_index and estimated <= sort_up_to:
        found = await sorted_matches()
        if found is not None:
            return found
    # Too many to sort: counted up to cap + 1, the page from the walk if it holds it, else
    # down the date index (the planner's choice).
    total = await count(indexed.limit(cap + 1))
    if total <= min(offset, cap):
        return Walked(total, True, [], False)
    if seen > offset + limit:
        ids = await page(in_walk, walk.c.received_on, walk.c.id)
    else:
        ids = await page(indexed, PetitionRow.received_on, PetitionRow.id)
    return Walked(total, total <= cap, ids[:limit], len(ids) > limit)

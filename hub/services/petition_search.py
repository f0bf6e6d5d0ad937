"""Searching the petition register: filters, office scope, full text, newest first.

SQLite searches with FTS5 (see migrations 0002 and 0004), PostgreSQL with stored tsvectors (0003,
0004); both read a page's ids from covering indexes before loading those rows. A list without
text has its exact total (on PostgreSQL from the rollup of 0005: hub.services.petition_counts).
A text search counts its matches only up to COUNT_UP_TO: one matching more has no total, only
whether a page follows (counting hundreds of thousands of matches exactly would cost seconds on
a national register, far more than the page).

A text search matches the case (codes, subject, respondent, content), never the petitioner's
personal data. A search of that is a separate, deliberate call (search_personal: the API's
`personal=true`) which also matches the petitioner's name and address by word and the ID number
only whole, is audited even when nothing matches, and gives no total (see search_personal).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    BindParameter,
    Date,
    bindparam,
    false,
    func,
    select,
    text,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from hub.clock import local_iso, now
from hub.domain.deadlines import OPEN_STATUSES, Due, due_range
from hub.domain.errors import ValidationFailed
from hub.domain.petitions import (
    fold,
)
from hub.domain.users import Action
from hub.services.access import Actor
from hub.services.deadlines import due_condition, today_local
from hub.services.petition_counts import count_days_statement, rollup_total
from hub.services.petition_walk import walk_search
from hub.services.petitions import audit_reads, summary_view
from hub.services.scope import in_subtree
from hub.storage.tables import (
    OfficeRow,
    PetitionRow,
    SearchAuditRow,
    UserRow,
)


@dataclass(frozen=True)
class PetitionQuery:
    """Filters of the petition register."""

    type: str | None = None
    status: str | None = None
    office_id: int | None = None
    crowd: bool | None = None
    text: str | None = None
    received_from: date | None = None
    received_to: date | None = None
    # Overdue or due this week (hub.domain.deadlines.Due), as of `today` (Vietnam's).
    due: str | None = None
    today: date | None = None
    limit: int = 50
    offset: int = 0


def _fts_word_char(c: str) -> bool:
    # FTS5's tokenizer knows Unicode 6.1: a letter newer than that would split one of our words
    # into two tokens, a phrase, which the detail=column index refuses. Letters and digits
    # already in Unicode 3.2 (Python keeps those tables) are word characters on both sides.
    if c.isascii():
        return c.isalnum()
    return unicodedata.ucd_3_2_0.category(c)[0] in "LN"


def _words(text_query: str, *, fts: bool = False) -> list[str]:
    """The folded words of a search (at most 8); FTS syntax in the text is just text."""
    is_word_char = _fts_word_char if fts else str.isalnum
    words = "".join(c if is_word_char(c) else " " for c in fold(text_query)).split()
    if not words:
        raise ValidationFailed("invalid search", {"text": "type at least one letter or digit"})
    return words[:8]


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _fts_match(
    words: list[str],
    query: PetitionQuery,
    scope: _Scope | None,
    months: Sequence[str] = (),
    *,
    personal: bool = False,
) -> str:
    """An FTS5 expression: each word a prefix of a word of the petition's text, all required,
    and the filters as exact tokens of the index's own columns (see migrations 0002, 0004).

    The column filter is what keeps a case search off the personal columns of the same index;
    a personal search lets each word be a prefix in the name and address too, or the whole ID
    number (no prefix of it: the ID is not guessed digit by digit)."""
    if personal:
        parts = [
            f"({{search_text personal_text}} : {_quoted(w)}* OR id_number : {_quoted(w)})"
            for w in words
        ]
    else:
        parts = ["search_text : (" + " AND ".join(f"{_quoted(w)}*" for w in words) + ")"]
    if scope is not None:
        # The office path '/1/2/7/' is indexed as the tokens 1, 2 and 7: a subtree is one token.
        parts.append(f"office_path : {_quoted(str(scope.office_id))}")
    if query.type:
        parts.append(f"type : {_quoted(query.type)}")
    if query.status:
        parts.append(f"status : {_quoted(query.status)}")
    if query.crowd is not None:
        parts.append(f"crowd : {_quoted(str(int(query.crowd)))}")
    if months:
        parts.append("received_month : (" + " OR ".join(_quoted(m) for m in months) + ")")
    return " AND ".join(parts)


@dataclass(frozen=True)
class _Scope:
    """The office whose subtree a search lists, and (on PostgreSQL) the ids of its offices."""

    office_id: int
    path: str
    offices: tuple[int, ...] | None


async def _scope(session: AsyncSession, actor: Actor, office_id: int | None) -> _Scope | None:
    """The filter's office, else the actor's own unless it is a root (the central office sees
    all); None lists everything."""
    if office_id is not None:
        office = await session.get(OfficeRow, office_id)
        if office is None or not actor.sees(office.path):
            raise ValidationFailed("invalid filter", {"office": "no such office in your scope"})
        top, path = office.id, office.path
    elif actor.office_path.count("/") > 2:
        top, path = actor.office_id, actor.office_path
    else:
        return None
    if session.bind.dialect.name != "postgresql":
        return _Scope(top, path, None)
    # The subtree's ids go into the queries as values: given a subquery instead, PostgreSQL
    # guessed one office and ran the whole text search once for each office of the subtree.
    offices = (
        await session.execute(select(OfficeRow.id).where(in_subtree(OfficeRow.path, path)))
    ).scalars()
    return _Scope(top, path, tuple(sorted(offices)))


def _conditions(query: PetitionQuery, scope: _Scope | None, *, dates: bool = True) -> list[Any]:
    """WHERE terms on petitions' own columns, so one covering index answers them all (without
    the dates received when dates=False)."""
    conditions: list[Any] = []
    if scope is not None and scope.offices is not None:
        conditions.append(PetitionRow.office_id.in_(scope.offices))
    elif scope is not None:
        conditions.append(
            PetitionRow.office_id.in_(
                select(OfficeRow.id).where(in_subtree(OfficeRow.path, scope.path))
            )
        )
    if query.type:
        conditions.append(PetitionRow.type == query.type)
    if query.status:
        conditions.append(PetitionRow.status == query.status)
    if query.crowd is not None:
        # A literal, not a parameter: SQLite uses the partial index of crowd cases only when
        # the query says crowd = 1 in so many words.
        conditions.append(PetitionRow.crowd == (true() if query.crowd else false()))
    if dates and query.received_from:
        conditions.append(PetitionRow.received_on >= query.received_from)
    if dates and query.received_to:
        conditions.append(PetitionRow.received_on <= query.received_to)
    if query.due:
        conditions.append(due_condition(query.due, query.today))
    return conditions


# What summary_view reads: a page loads these, not the long texts.
SUMMARY_COLUMNS = (
    PetitionRow.case_code,
    PetitionRow.national_code,
    PetitionRow.type,
    PetitionRow.status,
    PetitionRow.office_id,
    PetitionRow.petitioner_name,
    PetitionRow.crowd,
    PetitionRow.people_count,
    PetitionRow.subject_field,
    PetitionRow.source,
    PetitionRow.received_on,
    PetitionRow.handling_deadline,
)
NEWEST_FIRST = (PetitionRow.received_on.desc(), PetitionRow.id.desc())

# A text search with more matches than this finds its page by walking the newest-first index
# and testing each entry against the matches; with fewer, by fetching the matches and sorting
# them. Either costs about the same near here (a few ms on 200 000 petitions).
WALK_ABOVE = 2000
# A text search counts its matches up to this many; with more it gives no total. On
# PostgreSQL it first looks through the newest WALK_ROWS petitions under its filters
# (hub.services.petition_walk): a search matching 2 % of them or more is settled there, in
# about 15 ms on two million petitions.
COUNT_UP_TO = 200
WALK_ROWS = 10_000
# A text search matching at most this many petitions (by the planner's guess of its rarest
# word) gathers them all from the text index and sorts them, rather than walk the date index.
SORT_UP_TO = 20_000
# How many pages' worth of matches the first month window of such a walk should hold, going by
# the average per month; a window that turns out short is widened fourfold.
WINDOW_PAGES = 2.0
_FTS_IDS = "SELECT rowid FROM petitions_fts WHERE petitions_fts MATCH :match"


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _month_tokens(first: date, last: date) -> list[str]:
    """The received_month tokens of the months from `first`'s to `last`'s, newest first."""
    tokens = []
    month = _month_start(last)
    while month >= _month_start(first):
        tokens.append(f"m{month.year:04d}{month.month:02d}")
        month = _month_start(month - timedelta(days=1))
    return tokens


class _FtsStatements:
    """The statements of one text search on SQLite, sharing its words, filters and dates."""

    def __init__(
        self,
        session: AsyncSession,
        query: PetitionQuery,
        scope: _Scope | None,
        *,
        personal: bool = False,
    ):
        self.session = session
        self.query = query
        self.scope = scope
        self.personal = personal
        self.words = _words(query.text or "", fts=True)
        self.dates = ""
        self.binds: list[BindParameter[Any]] = []
        if query.received_from:
            self.dates += " AND received_on >= :received_from"
            self.binds.append(bindparam("received_from", query.received_from, type_=Date))
        if query.received_to:
            self.dates += " AND received_on <= :received_to"
            self.binds.append(bindparam("received_to", query.received_to, type_=Date))
        if query.due:
            # The deadline views ride along with the dates: checked row by row, never by FTS.
            low, high = due_range(Due(query.due), query.today or today_local())
            running = ", ".join(f"'{s}'" for s in sorted(OPEN_STATUSES))
            self.dates += f" AND status IN ({running}) AND handling_deadline IS NOT NULL"
            if low is not None:
                self.dates += " AND handling_deadline >= :due_low"
                self.binds.append(bindparam("due_low", low, type_=Date))
            if high is not None:
                self.dates += " AND handling_deadline <= :due_high"
                self.binds.append(bindparam("due_high", high, type_=Date))

    def _match(self, months: Sequence[str] = ()) -> BindParameter[Any]:
        match = _fts_match(self.words, self.query, self.scope, months, personal=self.personal)
        return bindparam("match", match)

    async def matches(self) -> int:
        """How many petitions match everything but the dates: FTS5 counts them on its own."""
        return await self.count_months(())

    async def count(self, hint: str) -> int:
        """How many petitions match within the dates, checked row by row."""
        sql = text(f"SELECT count(*) FROM petitions {hint} WHERE id IN ({_FTS_IDS}){self.dates}")
        binds = [self._match(), *self.binds]
        return int((await self.session.execute(sql.bindparams(*binds))).scalar_one())

    async def count_months(self, months: Sequence[str]) -> int:
        """How many petitions match in the given months (all when none), by FTS5 alone."""
        sql = text("SELECT count(*) FROM petitions_fts WHERE petitions_fts MATCH :match")
        return int((await self.session.execute(sql.bindparams(self._match(months)))).scalar_one())

    async def count_dated(self, hint: str, matches: int, first: date, last: date) -> int:
        """How many of many matches lie within the dates, the register running first..last.

        The months wholly inside the dates are counted by FTS5 alone (by their month tokens,
        or by those of the months outside if fewer); only the part-months at either end are
        checked row by row, which walks a few days of the index instead of the whole range.
        """
        low = max(self.query.received_from or first, first)
        high = min(self.query.received_to or last, last)
        if low > high:
            return 0
        # A month is whole when the dates take all of it that the register holds.
        low_whole = low == first or low.day == 1
        high_whole = high == last or _next_month(high) - timedelta(days=1) == high
        inner_from = _month_start(low) if low_whole else _next_month(low)
        inner_to = high if high_whole else _month_start(high) - timedelta(days=1)
        total = 0
        if inner_from <= inner_to:
            inside = _month_tokens(inner_from, inner_to)
            outside = (
                _month_tokens(first, inner_from - timedelta(days=1)) if inner_from > first else []
            )
            if inner_to < last:
                outside += _month_tokens(_next_month(inner_to), last)
            if len(outside) < len(inside):
                total += matches - (await self.count_months(outside) if outside else 0)
            else:
                total += await self.count_months(inside)
        ends = []
        if not low_whole:
            ends.append((low, min(high, _next_month(low) - timedelta(days=1))))
        if not high_whole and (low_whole or _month_start(high) != _month_start(low)):
            ends.append((max(low, _month_start(high)), high))
        for start, end in ends:
            total += await self._count_days(hint, start, end)
        return total

    async def _count_days(self, hint: str, start: date, end: date) -> int:
        sql = text(
            f"SELECT count(*) FROM petitions {hint} WHERE id IN ({_FTS_IDS}) "
            "AND received_on >= :start AND received_on <= :end"
        )
        binds = [
            self._match(_month_tokens(start, end)),
            bindparam("start", start, type_=Date),
            bindparam("end", end, type_=Date),
        ]
        return int((await self.session.execute(sql.bindparams(*binds))).scalar_one())

    async def bounds(self) -> tuple[date, date]:
        """The first and the last day a petition in the register was received."""
        row = (
            await self.session.execute(
                select(
                    select(func.min(PetitionRow.received_on)).scalar_subquery(),
                    select(func.max(PetitionRow.received_on)).scalar_subquery(),
                )
            )
        ).one()
        return row[0], row[1]

    async def page(
        self, hint: str, months: Sequence[str] = (), since: date | None = None
    ) -> list[int]:
        """Ids of the page, newest first, looking only at `months` (from `since`) if given."""
        window = " AND received_on >= :since" if since else ""
        sql = text(
            f"SELECT id FROM petitions {hint} WHERE id IN ({_FTS_IDS}){self.dates}{window} "
            "ORDER BY received_on DESC, id DESC LIMIT :limit OFFSET :offset"
        )
        binds = [
            self._match(months),
            *self.binds,
            bindparam("limit", self.query.limit),
            bindparam("offset", self.query.offset),
        ]
        if since:
            binds.append(bindparam("since", since, type_=Date))
        return [int(i) for i in (await self.session.execute(sql.bindparams(*binds))).scalars()]


class Found(NamedTuple):
    """What a search found: how many match (exactly, or COUNT_UP_TO + 1 for "more than
    COUNT_UP_TO" when `exact` is false), the page's ids, and whether a page follows."""

    matches: int
    exact: bool
    ids: list[int]
    has_more: bool


def _found(total: int, ids: list[int], query: PetitionQuery) -> Found:
    """A search whose total is known exactly."""
    return Found(total, True, ids, query.offset + len(ids) < total)


async def _fts_search(
    session: AsyncSession, query: PetitionQuery, scope: _Scope | None, *, personal: bool = False
) -> Found:
    """A text search on SQLite's FTS5 index (which counts exactly, and cheaply)."""
    total, ids = await _fts_page(session, query, scope, personal=personal)
    return _found(total, ids, query)


async def _fts_page(
    session: AsyncSession, query: PetitionQuery, scope: _Scope | None, *, personal: bool = False
) -> tuple[int, list[int]]:
    """(total, ids of the page) of a text search on SQLite's FTS5 index."""
    fts = _FtsStatements(session, query, scope, personal=personal)
    matches = await fts.matches()
    if not matches:
        return 0, []
    # SQLite's planner cannot know how many rows match; the count decides the plan.
    if matches <= WALK_ABOVE:
        hint = "NOT INDEXED"
        total = await fts.count(hint) if fts.dates else matches
        return total, (await fts.page(hint) if total > query.offset else [])
    hint = "INDEXED BY ix_petitions_received"
    first, last = await fts.bounds()
    if query.due:
        # The month tokens know nothing of deadlines: count within the dates row by row.
        total = await fts.count(hint)
    else:
        total = await fts.count_dated(hint, matches, first, last) if fts.dates else matches
    if total <= query.offset:
        return total, []
    # Walking the index needs every match in hand first, so look in the latest months, where
    # enough matches for the page should be, and widen the window if they are not.
    if query.received_from and query.received_from > first:
        first = query.received_from
    if query.received_to and query.received_to < last:
        last = query.received_to
    span = (last.year - first.year) * 12 + last.month - first.month + 1
    months = max(1, math.ceil(WINDOW_PAGES * (query.offset + query.limit) * span / total))
    while months < span:
        since = _month_start(last)
        for _ in range(months - 1):
            since = _month_start(since - timedelta(days=1))
        ids = await fts.page(hint, _month_tokens(since, last), since)
        # Every row of the window is newer than every row outside it: a full page found in it
        # is the page, and so is a short one that ends at the last match.
        if len(ids) == query.limit or query.offset + len(ids) == total:
            return total, ids
        months *= 4
    return total, await fts.page(hint)


async def _sql_search(
    session: AsyncSession, query: PetitionQuery, scope: _Scope | None, *, personal: bool = False
) -> Found:
    """A search from the covering indexes; text by tsvector on PostgreSQL, counted only up to
    COUNT_UP_TO; a list without text counted exactly (from the rollup on PostgreSQL)."""
    conditions = _conditions(query, scope)
    if query.text:
        # Only PostgreSQL comes here with text (SQLite searches with FTS5).
        if personal:
            # personal_vector (migration 0004): the case weighs A, name and address B, the ID
            # number C; a word is a prefix of an A or B word, or the whole ID number.
            vector = "personal_vector"
            template = "({0}:*AB | {0}:C)"
        else:
            # search_vector: stored by migration 0003 (PostgreSQL only).
            vector = "search_vector"
            template = "{0}:*"
        words = [template.format(w) for w in _words(query.text)]
        walked = await walk_search(
            session,
            conditions,
            vector,
            words,
            limit=query.limit,
            offset=query.offset,
            cap=COUNT_UP_TO,
            walk_rows=WALK_ROWS,
            sort_up_to=SORT_UP_TO,
        )
        return Found(*walked)
    if session.bind.dialect.name == "postgresql" and not query.due:
        total = await rollup_total(
            session,
            offices=scope.offices if scope else None,
            type_=query.type,
            status=query.status,
            crowd=query.crowd,
            received_from=query.received_from,
            received_to=query.received_to,
            count_days=count_days_statement(_conditions(query, scope, dates=False)),
        )
    else:
        count = select(func.count()).select_from(PetitionRow).where(*conditions)
        total = int((await session.execute(count)).scalar_one())
    if total <= query.offset:
        return _found(total, [], query)
    return _found(total, await _ids(session, conditions, query), query)


async def _ids(
    session: AsyncSession, conditions: list[Any], query: PetitionQuery, *, extra: int = 0
) -> list[int]:
    """The page's ids, newest first (and `extra` more after it)."""
    return list(
        (
            await session.execute(
                select(PetitionRow.id)
                .where(*conditions)
                .order_by(*NEWEST_FIRST)
                .limit(query.limit + extra)
                .offset(query.offset)
            )
        ).scalars()
    )


async def _page(session: AsyncSession, ids: list[int]) -> list[dict[str, Any]]:
    """The register lines of a page's ids, in their order: only those rows are read."""
    if not ids:
        return []
    # Core rows, not ORM objects: a page is 50 lines on every request, read and let go.
    rows = await session.execute(
        select(PetitionRow.id, *SUMMARY_COLUMNS, OfficeRow.name.label("office_name"))
        .join(OfficeRow, OfficeRow.id == PetitionRow.office_id)
        .where(PetitionRow.id.in_(ids))
    )
    by_id = {row.id: summary_view(row, row.office_name) for row in rows}
    return [by_id[i] for i in ids if i in by_id]


class RegisterPage(NamedTuple):
    """A page of the register: its lines, the total (None for a text search matching more
    than COUNT_UP_TO), and whether a page follows."""

    items: list[dict[str, Any]]
    total: int | None
    has_more: bool


async def search(
    session: AsyncSession, actor: Actor, query: PetitionQuery, *, is_sqlite: bool
) -> RegisterPage:
    """One page of the register in the actor's scope, newest first, with the total.

    The text matches the case only, so the total tells nothing about personal data. A text
    search matching more than COUNT_UP_TO has no total, on either back end."""
    actor.require(Action.READ_PETITIONS)
    scope = await _scope(session, actor, query.office_id)
    if query.text and is_sqlite:
        found = await _fts_search(session, query, scope)
    else:
        found = await _sql_search(session, query, scope)
    # The page's ids come from an index alone; only those rows are read, with their office.
    items = await _page(session, found.ids)
    await audit_reads(session, actor, [i["id"] for i in items], "list")
    counted = found.exact and not (query.text and found.matches > COUNT_UP_TO)
    return RegisterPage(items, found.matches if counted else None, found.has_more)


async def search_personal(
    session: AsyncSession, actor: Actor, query: PetitionQuery, *, is_sqlite: bool
) -> tuple[list[dict[str, Any]], bool]:
    """One page of a search that also matches the petitioner's personal data, and whether
    another page follows. Audited: who, when, the text and filters, how many matched, even
    none; each row shown is a read of its own ("personal_search").

    No total: a count (with an offset past the last page, say) would answer "is there a
    citizen with these words?" without showing, and so auditing, any row. Only a row read
    says a match exists, and "more" is known only with a full page in hand. The ID number is
    matched whole, so it cannot be recovered digit by digit either.
    """
    actor.require(Action.READ_PETITIONS)
    if not query.text:
        raise ValidationFailed(
            "invalid search",
            {"text": "a personal-data search needs the text to look for (name, address, ID)"},
        )
    scope = await _scope(session, actor, query.office_id)
    find = _fts_search if is_sqlite else _sql_search
    found = await find(session, query, scope, personal=True)
    items = await _page(session, found.ids)
    await audit_reads(session, actor, [i["id"] for i in items], "personal_search")
    session.add(
        SearchAuditRow(
            at=now(),
            user_id=actor.user_id,
            office_id=actor.office_id,
            query=query.text,
            filters=_filters(query),
            # Counted up to COUNT_UP_TO + 1 (which then says "more than COUNT_UP_TO").
            matched=min(found.matches, COUNT_UP_TO + 1),
            returned=len(items),
        )
    )
    await session.flush()
    return items, bool(items) and found.has_more


def _filters(query: PetitionQuery) -> dict[str, Any]:
    """A search's filters besides its text, as the audit keeps them."""
    out: dict[str, Any] = {
        "office_id": query.office_id,
        "type": query.type,
        "status": query.status,
        "crowd": query.crowd,
        "received_from": query.received_from.isoformat() if query.received_from else None,
        "received_to": query.received_to.isoformat() if query.received_to else None,
        "limit": query.limit,
        "offset": query.offset,
    }
    return {k: v for k, v in out.items() if v is not None}


async def search_audit_entries(
    session: AsyncSession,
    actor: Actor,
    *,
    user_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Personal-data searches made from the offices in the actor's scope, newest first
    (admins only): who, when, what, how much matched."""
    actor.require(Action.READ_AUDIT)
    conditions: list[Any] = [in_subtree(OfficeRow.path, actor.office_path)]
    if user_id is not None:
        conditions.append(SearchAuditRow.user_id == user_id)
    base = (
        select(SearchAuditRow, UserRow.username)
        .join(UserRow, UserRow.id == SearchAuditRow.user_id)
        .join(OfficeRow, OfficeRow.id == SearchAuditRow.office_id)
        .where(*conditions)
    )
    total = int(
        (await session.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
    )
    rows = (
        await session.execute(base.order_by(SearchAuditRow.id.desc()).limit(limit).offset(offset))
    ).all()
    return [
        {
            "id": a.id,
            "at": local_iso(a.at),
            "user_id": a.user_id,
            "username": username,
            "office_id": a.office_id,
            "query": a.query,
            "filters": a.filters,
            "matched": a.matched,
            "returned": a.returned,
        }
        for a, username in rows
    ], total

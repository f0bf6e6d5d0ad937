"""Issue 7, item 3 in the database: migration 0004 takes personal data out of the search index
that every search reads, for the petitions already registered, on both back ends.

Before 0004 the one search text (and the FTS5 index / tsvector built on it) held the petitioner's
name, address and ID number, so a search for the first digits of an ID found the petition.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from alembic import command
from sqlalchemy import text

from hub.config import Settings
from hub.domain.users import Role
from hub.services import petition_search
from hub.services.access import Actor
from hub.services.petition_search import PetitionQuery
from hub.storage.db import Database
from hub.storage.migrate import alembic_config, upgrade

ID_NUMBER = "033080009876"
# What 0001-0003 stored as the search text: codes, name, address, ID number, subject, content.
OLD_SEARCH_TEXT = (
    "hy 2026 000001 nguyen van duc thon dinh du huyen van lam 033080009876 dat dai "
    "khieu nai ve muc boi thuong"
)


async def _old_register(url: str) -> None:
    """A database at revision 0003 holding one petition as 0003 indexed it."""
    await upgrade(Settings(database_url=url), "0003")
    db = Database(url)
    try:
        async with db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO offices (id, code, name, level, parent_id, path, "
                    "has_bridge_point, address) VALUES (1, 'HY', 'Hưng Yên', 'province', NULL, "
                    "'/1/', true, '')"
                )
            )
            await session.execute(
                text(
                    "INSERT INTO users (id, username, display_name, role, office_id, "
                    "password_hash, active, created_at) VALUES (1, 'admin', 'Admin', 'admin', 1, "
                    "'-', true, :at)"
                ).bindparams(at=datetime(2026, 10, 1, tzinfo=UTC))
            )
            await session.execute(
                text(
                    "INSERT INTO petitions (id, case_code, office_id, type, status, source, "
                    "petitioner_name, petitioner_address, petitioner_id_number, crowd, "
                    "people_count, representatives, subject_field, respondent, content, "
                    "request, competent_body, received_on, search_text, created_at, "
                    "updated_at) VALUES (1, 'HY-2026-000001', 1, 'complaint', 'received', "
                    "'in_person', 'Nguyễn Văn Đức', 'Thôn Đình Dù, huyện Văn Lâm', :id_number, "
                    "false, 1, '[]', 'Đất đai', '', 'Khiếu nại về mức bồi thường', '', '', "
                    ":received, :search_text, :at, :at)"
                ).bindparams(
                    id_number=ID_NUMBER,
                    received=date(2026, 10, 1),
                    search_text=OLD_SEARCH_TEXT,
                    at=datetime(2026, 10, 1, tzinfo=UTC),
                )
            )
    finally:
        await db.close()


ADMIN = Actor(1, "admin", "Admin", Role.ADMIN, 1, "Hưng Yên", "/1/")


async def _plain(db: Database, words: str) -> list[int]:
    async with db.transaction() as session:
        items, _total, _more = await petition_search.search(
            session, ADMIN, PetitionQuery(text=words), is_sqlite=db.is_sqlite
        )
    return [i["id"] for i in items]


async def test_security_0004_takes_personal_data_out_of_the_index_of_existing_petitions(
    db_url: str,
) -> None:
    await _old_register(db_url)
    db = Database(db_url)
    try:
        assert await _plain(db, ID_NUMBER[:6]) == [1]  # the leak, as 0003 indexed it
        await upgrade(Settings(database_url=db_url))
        for words in (ID_NUMBER, ID_NUMBER[:6], "dinh du", "nguyen van duc"):
            assert await _plain(db, words) == [], words
        assert await _plain(db, "boi thuong") == [1]
        assert await _plain(db, "HY-2026-000001") == [1]
        async with db.transaction() as session:
            row = (
                await session.execute(
                    text("SELECT search_text, personal_text FROM petitions WHERE id = 1")
                )
            ).one()
        assert (
            row.search_text.split() == "hy 2026 000001 dat dai khieu nai ve muc boi thuong".split()
        )
        assert row.personal_text.split() == "nguyen van duc thon dinh du huyen van lam".split()
        if db.is_sqlite:
            async with db.transaction() as session:
                await session.execute(
                    text("INSERT INTO petitions_fts(petitions_fts) VALUES ('integrity-check')")
                )
        # And back: the downgrade restores 0003's index, whole.
        await asyncio.to_thread(command.downgrade, alembic_config(db_url), "0003")
        assert await _plain(db, ID_NUMBER[:6]) == [1]
    finally:
        await db.close()

"""register search: covering indexes and a faceted FTS5 index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:20:00.000000

The register's list answers every filter (office, type, status, crowd, dates) from an index
alone: each index carries all filter columns, so a count over a province's 50 000 petitions reads
the index, not the table.

On SQLite the full-text index also carries the office path, type, status, crowd flag and month
received as columns of their own, so a search within a scope is counted inside FTS5 instead of
looking every match up in `petitions`, and its newest page can be looked for in the latest months
first. Prefix indexes (1-4 letters) make a short prefix, such as a word still being typed, one
list instead of a merge of every word that starts with it; detail=column keeps them small (the
search needs no phrases: see hub.services.petition_search._words).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name -> columns. `id` is spelled out so that ORDER BY received_on DESC, id DESC is read
# straight off the index; the columns after it let the other filters be checked in the index.
INDEXES: dict[str, list[str]] = {
    "ix_petitions_received": ["received_on", "id", "office_id", "type", "status", "crowd"],
    "ix_petitions_office_received": ["office_id", "received_on", "id", "type", "status", "crowd"],
    "ix_petitions_type": ["type", "received_on", "id", "office_id", "status", "crowd"],
    "ix_petitions_status": ["status", "received_on", "id", "office_id", "type", "crowd"],
}
# Crowd cases are few: a partial index lists them without walking everything else. It carries
# crowd too, or SQLite would not see that it covers the query and would prefer a full scan.
CROWD_INDEX = "ix_petitions_crowd"
CROWD_COLUMNS = ["received_on", "id", "office_id", "type", "status", "crowd"]

OLD_INDEXES: dict[str, list[str]] = {
    "ix_petitions_received": ["received_on", "id"],
    "ix_petitions_office_received": ["office_id", "received_on", "id"],
    "ix_petitions_type": ["type", "received_on"],
    "ix_petitions_status": ["status", "received_on"],
}

# What the FTS5 index holds per petition; its columns are this view's, so 'rebuild' works.
# received_month is 'm' + YYYYMM (received_on is stored as 'YYYY-MM-DD' text on SQLite).
SEARCH_VIEW = (
    "CREATE VIEW petitions_search AS "
    "SELECT p.id, p.search_text, o.path AS office_path, p.type, p.status, p.crowd, "
    "'m' || substr(p.received_on, 1, 4) || substr(p.received_on, 6, 2) AS received_month "
    "FROM petitions p JOIN offices o ON o.id = p.office_id"
)
FTS_TABLE = (
    "CREATE VIRTUAL TABLE petitions_fts USING fts5("
    "search_text, office_path, type, status, crowd, received_month, "
    "content='petitions_search', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2', detail=column, prefix='1 2 3 4')"
)
_COLUMNS = "rowid, search_text, office_path, type, status, crowd, received_month"


def _row(row: str) -> str:
    # An office's path never changes (it is made of ids when the office is created), so the path
    # read here when a row is deleted is the one that was indexed: external-content FTS5 needs
    # exactly the indexed values to take a row out.
    return (
        f"{row}.id, {row}.search_text, o.path, {row}.type, {row}.status, {row}.crowd, "
        f"'m' || substr({row}.received_on, 1, 4) || substr({row}.received_on, 6, 2) "
        f"FROM offices o WHERE o.id = {row}.office_id; "
    )


def _insert(row: str) -> str:
    return f"INSERT INTO petitions_fts({_COLUMNS}) SELECT {_row(row)}"


def _delete(row: str) -> str:
    return f"INSERT INTO petitions_fts(petitions_fts, {_COLUMNS}) SELECT 'delete', {_row(row)}"


TRIGGERS = (
    f"CREATE TRIGGER petitions_fts_ai AFTER INSERT ON petitions BEGIN {_insert('new')}END",
    f"CREATE TRIGGER petitions_fts_ad AFTER DELETE ON petitions BEGIN {_delete('old')}END",
    "CREATE TRIGGER petitions_fts_au "
    "AFTER UPDATE OF search_text, office_id, type, status, crowd, received_on ON petitions "
    f"BEGIN {_delete('old')}{_insert('new')}END",
)


def upgrade() -> None:
    # Plain index operations: no batch mode, which could copy the table and lose its triggers.
    for name in OLD_INDEXES:
        op.drop_index(name, table_name="petitions")
    for name, columns in INDEXES.items():
        op.create_index(name, "petitions", columns)
    op.create_index(
        CROWD_INDEX,
        "petitions",
        CROWD_COLUMNS,
        sqlite_where=sa.text("crowd = 1"),
        postgresql_where=sa.text("crowd"),
    )
    if op.get_bind().dialect.name == "sqlite":
        for name in ("petitions_fts_ai", "petitions_fts_ad", "petitions_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS petitions_fts")
        op.execute(SEARCH_VIEW)
        op.execute(FTS_TABLE)
        op.execute("INSERT INTO petitions_fts(petitions_fts) VALUES ('rebuild')")
        for trigger in TRIGGERS:
            op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("petitions_fts_ai", "petitions_fts_ad", "petitions_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS petitions_fts")
        op.execute("DROP VIEW IF EXISTS petitions_search")
        # The single-column index of 0001, filled from the table as it stands.
        op.execute(
            "CREATE VIRTUAL TABLE petitions_fts USING fts5("
            "search_text, content='petitions', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 2')"
        )
        op.execute("INSERT INTO petitions_fts(petitions_fts) VALUES ('rebuild')")
        op.execute(
            "CREATE TRIGGER petitions_fts_ai AFTER INSERT ON petitions BEGIN "
            "INSERT INTO petitions_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER petitions_fts_ad AFTER DELETE ON petitions BEGIN "
            "INSERT INTO petitions_fts(petitions_fts, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER petitions_fts_au AFTER UPDATE OF search_text ON petitions BEGIN "
            "INSERT INTO petitions_fts(petitions_fts, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); "
            "INSERT INTO petitions_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
    op.drop_index(CROWD_INDEX, table_name="petitions")
    for name in INDEXES:
        op.drop_index(name, table_name="petitions")
    for name, columns in OLD_INDEXES.items():
        op.create_index(name, "petitions", columns)

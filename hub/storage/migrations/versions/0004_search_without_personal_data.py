"""register search without personal data; an audit of searches that ask for it

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:00:00.000000

Until 0003 the one search text held the petitioner's name, address and ID number, so every text
search matched them, and its total (even past the last page) told whether a citizen's ID number
began with some digits, without any row being read or audited (issue 7, item 3).

`search_text` now holds the case alone (codes, subject, respondent, content). The petitioner's
name and address go to `personal_text`, and the ID number is matched from its own column, whole:
both only when a search asks for personal data (hub.services.petition_search), which writes a
`search_audit` row. Both back ends index them apart from the case:

- SQLite: the FTS5 index gets two columns of its own, `personal_text` and `id_number`; a search
  names the columns it may match, so the case search never sees them.
- PostgreSQL: `search_vector` (0003) follows `search_text`; a second stored tsvector,
  `personal_vector`, weighs the case A, name and address B and the ID number C, so one GIN index
  answers a personal search ("word:*AB | word:C": prefixes of words, the ID number whole).

Every row's texts are recomputed here, in batches, with this migration's own copy of the folding
rule (a migration must not change when the application's code does).
"""

import unicodedata
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000
FTS_TRIGGERS = ("petitions_fts_ai", "petitions_fts_ad", "petitions_fts_au")


def _fold(parts: Sequence[str | None]) -> str:
    """hub.domain.petitions.fold and the punctuation rule of hub.services.petitions, as of
    this revision: lowercase, no diacritics, punctuation as spaces."""
    text = " ".join(p for p in parts if p).replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return "".join(c if c.isalnum() else " " for c in folded)


def _case(row: sa.Row[tuple[str, ...]]) -> str:
    return _fold([row.case_code, row.national_code, row.subject_field, row.respondent, row.content])


def _personal(row: sa.Row[tuple[str, ...]]) -> str:
    return _fold([row.petitioner_name, row.petitioner_address])


def _everything(row: sa.Row[tuple[str, ...]]) -> str:
    # The search text of 0001-0003, for the downgrade.
    return _fold(
        [
            row.case_code,
            row.national_code,
            row.petitioner_name,
            row.petitioner_address,
            row.petitioner_id_number,
            row.subject_field,
            row.respondent,
            row.content,
        ]
    )


def _recompute(values: Callable[[sa.Row[tuple[str, ...]]], dict[str, str]]) -> None:
    """Rewrite every petition's search columns, BATCH rows at a time, in id order."""
    bind = op.get_bind()
    read = sa.text(
        "SELECT id, case_code, national_code, petitioner_name, petitioner_address, "
        "petitioner_id_number, subject_field, respondent, content FROM petitions "
        "WHERE id > :last ORDER BY id LIMIT :batch"
    )
    last = 0
    while True:
        rows = bind.execute(read, {"last": last, "batch": BATCH}).all()
        if not rows:
            return
        changes = [{"row_id": r.id, **values(r)} for r in rows]
        columns = ", ".join(f"{name} = :{name}" for name in changes[0] if name != "row_id")
        bind.execute(sa.text(f"UPDATE petitions SET {columns} WHERE id = :row_id"), changes)
        last = rows[-1].id


# --- SQLite: the FTS5 index (0002's, with the two personal columns) ----------------------------

SEARCH_VIEW = (
    "CREATE VIEW petitions_search AS "
    "SELECT p.id, p.search_text, p.personal_text, p.petitioner_id_number AS id_number, "
    "o.path AS office_path, p.type, p.status, p.crowd, "
    "'m' || substr(p.received_on, 1, 4) || substr(p.received_on, 6, 2) AS received_month "
    "FROM petitions p JOIN offices o ON o.id = p.office_id"
)
FTS_TABLE = (
    "CREATE VIRTUAL TABLE petitions_fts USING fts5("
    "search_text, personal_text, id_number, office_path, type, status, crowd, received_month, "
    "content='petitions_search', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2', detail=column, prefix='1 2 3 4')"
)
_COLUMNS = (
    "rowid, search_text, personal_text, id_number, office_path, type, status, crowd, received_month"
)


def _row(row: str) -> str:
    # As in 0002: an office's path never changes, so the values read when a row is deleted are
    # the ones that were indexed (external-content FTS5 needs exactly those to take it out).
    return (
        f"{row}.id, {row}.search_text, {row}.personal_text, {row}.petitioner_id_number, "
        f"o.path, {row}.type, {row}.status, {row}.crowd, "
        f"'m' || substr({row}.received_on, 1, 4) || substr({row}.received_on, 6, 2) "
        f"FROM offices o WHERE o.id = {row}.office_id; "
    )


TRIGGERS = (
    "CREATE TRIGGER petitions_fts_ai AFTER INSERT ON petitions BEGIN "
    f"INSERT INTO petitions_fts({_COLUMNS}) SELECT {_row('new')}END",
    "CREATE TRIGGER petitions_fts_ad AFTER DELETE ON petitions BEGIN "
    f"INSERT INTO petitions_fts(petitions_fts, {_COLUMNS}) SELECT 'delete', {_row('old')}END",
    "CREATE TRIGGER petitions_fts_au AFTER UPDATE OF search_text, personal_text, "
    "petitioner_id_number, office_id, type, status, crowd, received_on ON petitions BEGIN "
    f"INSERT INTO petitions_fts(petitions_fts, {_COLUMNS}) SELECT 'delete', {_row('old')}"
    f"INSERT INTO petitions_fts({_COLUMNS}) SELECT {_row('new')}END",
)

# 0002's definitions, restored by the downgrade.
OLD_SEARCH_VIEW = (
    "CREATE VIEW petitions_search AS "
    "SELECT p.id, p.search_text, o.path AS office_path, p.type, p.status, p.crowd, "
    "'m' || substr(p.received_on, 1, 4) || substr(p.received_on, 6, 2) AS received_month "
    "FROM petitions p JOIN offices o ON o.id = p.office_id"
)
OLD_FTS_TABLE = (
    "CREATE VIRTUAL TABLE petitions_fts USING fts5("
    "search_text, office_path, type, status, crowd, received_month, "
    "content='petitions_search', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2', detail=column, prefix='1 2 3 4')"
)
_OLD_COLUMNS = "rowid, search_text, office_path, type, status, crowd, received_month"


def _old_row(row: str) -> str:
    return (
        f"{row}.id, {row}.search_text, o.path, {row}.type, {row}.status, {row}.crowd, "
        f"'m' || substr({row}.received_on, 1, 4) || substr({row}.received_on, 6, 2) "
        f"FROM offices o WHERE o.id = {row}.office_id; "
    )


OLD_TRIGGERS = (
    "CREATE TRIGGER petitions_fts_ai AFTER INSERT ON petitions BEGIN "
    f"INSERT INTO petitions_fts({_OLD_COLUMNS}) SELECT {_old_row('new')}END",
    "CREATE TRIGGER petitions_fts_ad AFTER DELETE ON petitions BEGIN "
    f"INSERT INTO petitions_fts(petitions_fts, {_OLD_COLUMNS}) SELECT 'delete', "
    f"{_old_row('old')}END",
    "CREATE TRIGGER petitions_fts_au "
    "AFTER UPDATE OF search_text, office_id, type, status, crowd, received_on ON petitions "
    f"BEGIN INSERT INTO petitions_fts(petitions_fts, {_OLD_COLUMNS}) SELECT 'delete', "
    f"{_old_row('old')}INSERT INTO petitions_fts({_OLD_COLUMNS}) SELECT {_old_row('new')}END",
)


def _drop_fts() -> None:
    for name in FTS_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS petitions_fts")
    op.execute("DROP VIEW IF EXISTS petitions_search")


def _create_fts(view: str, table: str, triggers: Sequence[str]) -> None:
    op.execute(view)
    op.execute(table)
    op.execute("INSERT INTO petitions_fts(petitions_fts) VALUES ('rebuild')")
    for trigger in triggers:
        op.execute(trigger)


# --- PostgreSQL: the stored tsvector of a personal search --------------------------------------

PERSONAL_VECTOR = (
    "ALTER TABLE petitions ADD COLUMN personal_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple', search_text), 'A') || "
    "setweight(to_tsvector('simple', personal_text), 'B') || "
    "setweight(to_tsvector('simple', petitioner_id_number), 'C')) STORED"
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # Plain ALTER TABLE (no batch mode: on SQLite that copies the table and drops its triggers).
    op.add_column(
        "petitions", sa.Column("personal_text", sa.Text(), nullable=False, server_default="")
    )
    op.create_table(
        "search_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("returned", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["office_id"], ["offices.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("at", "user_id", "office_id"):
        op.create_index(f"ix_search_audit_{column}", "search_audit", [column])
    if dialect == "sqlite":
        # The index is rebuilt once from the new texts, not row by row through its triggers.
        _drop_fts()
    _recompute(lambda r: {"search_text": _case(r), "personal_text": _personal(r)})
    if dialect == "sqlite":
        _create_fts(SEARCH_VIEW, FTS_TABLE, TRIGGERS)
    elif dialect == "postgresql":
        op.execute(PERSONAL_VECTOR)
        op.execute(
            "CREATE INDEX ix_petitions_personal_vector ON petitions USING gin (personal_vector)"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _drop_fts()
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_petitions_personal_vector")
        op.execute("ALTER TABLE petitions DROP COLUMN personal_vector")
    _recompute(lambda r: {"search_text": _everything(r)})
    if dialect == "sqlite":
        _create_fts(OLD_SEARCH_VIEW, OLD_FTS_TABLE, OLD_TRIGGERS)
    for column in ("at", "user_id", "office_id"):
        op.drop_index(f"ix_search_audit_{column}", table_name="search_audit")
    op.drop_table("search_audit")
    if dialect == "sqlite":
        # SQLite (3.35+) drops a column in place; batch mode would drop the triggers above.
        op.execute("ALTER TABLE petitions DROP COLUMN personal_text")
    else:
        op.drop_column("petitions", "personal_text")

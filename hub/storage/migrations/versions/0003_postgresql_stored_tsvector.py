"""PostgreSQL: a stored tsvector for petition search

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 05:00:00.000000

0001 indexed to_tsvector('simple', search_text) as an expression. A search ordered newest first
walks the date index and had to recompute that expression for every row it passed (hundreds of
ms at 20 000 petitions for a common word). A generated, stored column is computed once per write
and is what the GIN index and the search read. SQLite is untouched (it searches with FTS5).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE petitions ADD COLUMN search_vector tsvector "
        "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED"
    )
    op.execute("CREATE INDEX ix_petitions_search_vector ON petitions USING gin (search_vector)")
    op.execute("DROP INDEX IF EXISTS ix_petitions_search")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX ix_petitions_search ON petitions "
        "USING gin (to_tsvector('simple', search_text))"
    )
    op.execute("DROP INDEX IF EXISTS ix_petitions_search_vector")
    op.execute("ALTER TABLE petitions DROP COLUMN search_vector")

"""Self-test results

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:30:00.000000

A site's self-test before a hearing (camera, microphone, speaker, media looped through the hub)
ends with a result its page posts: `self_tests` keeps them, so that operators see each site's
last score and a bad one can raise an alert.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "self_tests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.String(length=10), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["office_id"], ["offices.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_self_tests_office_at", "self_tests", ["office_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_self_tests_office_at", table_name="self_tests")
    op.drop_table("self_tests")

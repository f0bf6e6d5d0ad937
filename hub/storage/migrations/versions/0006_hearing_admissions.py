"""Admissions to live hearings kept in the database

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:50:00.000000

The offices a moderator admitted to a live hearing were remembered in the serving process
only: after a restart of the hub (or of a node whose rooms lived on media workers) every
returning site waited to be admitted again. `hearing_admissions` keeps them until the site is
sent to the waiting room, removed, or the hearing ends.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hearing_admissions",
        sa.Column("hearing_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("admitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["hearing_id"], ["hearings.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["office_id"], ["offices.id"]),
        sa.PrimaryKeyConstraint("hearing_id", "office_id"),
    )


def downgrade() -> None:
    op.drop_table("hearing_admissions")

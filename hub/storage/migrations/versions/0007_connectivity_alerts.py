"""connectivity alerts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:45:00.000000

`alerts` holds every connectivity alert (hub.domain.alerts): its kind, office, hearing (when
raised during one), when it opened and closed, its detail and who acknowledged it when. While
open an alert carries `open_key` ('<kind>:<office>:<hearing or 0>'); its unique constraint keeps
one open alert per kind, office and hearing even when two hub nodes open it at once. A closed
alert's key is NULL, and NULLs never clash.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("hearing_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("open_key", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(["office_id"], ["offices.id"]),
        sa.ForeignKeyConstraint(["hearing_id"], ["hearings.id"]),
        sa.ForeignKeyConstraint(["acknowledged_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("open_key"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_office_id"), ["office_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_hearing_id"), ["hearing_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_opened_at"), ["opened_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_closed_at"), ["closed_at"], unique=False)


def downgrade() -> None:
    op.drop_table("alerts")

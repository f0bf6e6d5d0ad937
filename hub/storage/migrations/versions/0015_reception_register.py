"""Reception register

Revision ID: 0015
Revises: 0009
Create Date: 2026-12-02 03:40:00.000000

The reception register (sổ tiếp công dân): one row per citizen received, keyed by a national
code for exchanges with the national database (hub.domain.reception). Petitions get an index on
updated_at, which an incremental export filters on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reception_register",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("national_code", sa.String(length=64), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("petitioner_name", sa.String(length=200), nullable=False),
        sa.Column("petitioner_address", sa.String(length=500), nullable=False),
        sa.Column("petitioner_id_number", sa.String(length=20), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("crowd", sa.Boolean(), nullable=False),
        sa.Column("people_count", sa.Integer(), nullable=False),
        sa.Column("handled_before", sa.String(length=300), nullable=False),
        sa.Column("handling", sa.String(length=30), nullable=False),
        sa.Column("follow_up", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("petition_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["office_id"], ["offices.id"]),
        sa.ForeignKeyConstraint(["petition_id"], ["petitions.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("national_code"),
    )
    op.create_index("ix_reception_register_office_id", "reception_register", ["office_id"])
    op.create_index("ix_reception_register_petition_id", "reception_register", ["petition_id"])
    op.create_index("ix_reception_register_updated_at", "reception_register", ["updated_at"])
    op.create_index("ix_petitions_updated_at", "petitions", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_petitions_updated_at", table_name="petitions")
    op.drop_table("reception_register")

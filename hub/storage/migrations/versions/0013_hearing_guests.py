"""Hearing guests

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 03:10:00.000000

A hearing invites people by name and agency (the inter-agency working group), not only
offices' bridge points: `hearing_guests` keeps each guest, the SHA-256 of its personal link's
token (the token itself is shown once and never stored), whether the link was revoked, and the
guest's admission to the live hearing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hearing_guests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hearing_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("agency", sa.String(length=200), nullable=False),
        sa.Column("agency_kind", sa.String(length=40), nullable=False),
        sa.Column("position", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("link_issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("admitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["hearing_id"], ["hearings.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_hearing_guests_hearing_id", "hearing_guests", ["hearing_id"])


def downgrade() -> None:
    op.drop_index("ix_hearing_guests_hearing_id", table_name="hearing_guests")
    op.drop_table("hearing_guests")

"""Crowd delegations

Revision ID: 0012
Revises: 0015
Create Date: 2026-12-02 03:15:00.000000

`delegations` keeps each crowd delegation (đoàn đông người) received at an office: its home
office, people and representatives, matter (and its folded key for repeat visits), visit number
and status. `delegation_petitions` links the petitions it brought, `delegation_hearings` the
joint hearing opened from it (whose home-office site is the documented exception to the rule
that a hearing's sites lie under its host).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delegations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receiving_office_id", sa.Integer(), nullable=False),
        sa.Column("home_office_id", sa.Integer(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("people_count", sa.Integer(), nullable=False),
        sa.Column("representatives", sa.JSON(), nullable=False),
        sa.Column("matter", sa.Text(), nullable=False),
        sa.Column("matter_key", sa.String(length=500), nullable=False),
        sa.Column("subject_field", sa.String(length=300), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("visit_number", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["receiving_office_id"], ["offices.id"]),
        sa.ForeignKeyConstraint(["home_office_id"], ["offices.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_delegations_receiving_office_id", "delegations", ["receiving_office_id"])
    op.create_index("ix_delegations_received_on", "delegations", ["received_on"])
    op.create_index("ix_delegations_status", "delegations", ["status"])
    op.create_index(
        "ix_delegations_home_received", "delegations", ["home_office_id", "received_on"]
    )
    op.create_table(
        "delegation_petitions",
        sa.Column("delegation_id", sa.Integer(), nullable=False),
        sa.Column("petition_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["delegation_id"], ["delegations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["petition_id"], ["petitions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("delegation_id", "petition_id"),
    )
    op.create_index("ix_delegation_petitions_petition_id", "delegation_petitions", ["petition_id"])
    op.create_table(
        "delegation_hearings",
        sa.Column("hearing_id", sa.Integer(), nullable=False),
        sa.Column("delegation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["hearing_id"], ["hearings.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["delegation_id"], ["delegations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("hearing_id"),
    )
    op.create_index(
        "ix_delegation_hearings_delegation_id", "delegation_hearings", ["delegation_id"]
    )


def downgrade() -> None:
    op.drop_table("delegation_hearings")
    op.drop_table("delegation_petitions")
    op.drop_table("delegations")

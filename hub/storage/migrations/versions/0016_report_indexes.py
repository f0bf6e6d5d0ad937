"""Indexes for the periodic reports

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-02 03:40:00.000000

hub.services.reports counts, for an office subtree and a period, petitions by subject field and
type, and petitions overdue at the period's end. Without these, both read every petition of the
subtree from the table (measured on 200,000 petitions on PostgreSQL: 2.2 s for the central
office's overdue count, 2.5 s for its subject fields, most of it heap pages):
- ix_petitions_office_subject: a period's subject fields and types from the index alone;
- ix_petitions_status_deadline: the petitions by status whose deadline has passed, from the
  index alone (open ones: overdue; final ones: overdue if handled only since);
- ix_petitions_in_person (partial): the petitions brought in person (visits) of a period with
  what the reception table counts of them, without the table;
- ix_petition_history_status_at: the petitions that reached a final outcome after a moment
  (overdue at a past period's end, handled since).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_petitions_office_subject": (
        "petitions",
        ["office_id", "received_on", "subject_field", "type"],
    ),
    "ix_petitions_status_deadline": (
        "petitions",
        ["status", "handling_deadline", "office_id", "type", "id"],
    ),
    "ix_petition_history_status_at": ("petition_history", ["to_status", "at", "petition_id"]),
}


# Petitions brought in person only (the predicate is written out as a literal in the query,
# hub.services.reports, so that the planner matches it on both back ends).
IN_PERSON = "source = 'in_person'"
IN_PERSON_COLUMNS = ["office_id", "received_on", "crowd", "people_count", "national_code", "id"]


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)
    op.create_index(
        "ix_petitions_in_person",
        "petitions",
        IN_PERSON_COLUMNS,
        sqlite_where=sa.text(IN_PERSON),
        postgresql_where=sa.text(IN_PERSON),
    )


def downgrade() -> None:
    op.drop_index("ix_petitions_in_person", table_name="petitions")
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)

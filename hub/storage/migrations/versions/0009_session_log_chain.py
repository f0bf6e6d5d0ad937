"""Session log hash chain

Revision ID: 0009
Revises: 0010
Create Date: 2026-12-02 03:15:00.000000

Every session-log event carries its place in its hearing's log (seq), the previous event's
hash and its own (hub.domain.log_chain); `log_chains` holds each hearing's head (how many events,
the last hash), the row every append locks. The events already written are chained here, per
hearing in the order they were written (by id), exactly as the hub would have chained them.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from hub.domain.log_chain import GENESIS, ChainedEvent, link_hash
from hub.storage.tables import UtcDateTime

revision: str = "0009"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns the backfill reads and writes, typed as the hub reads them (UTC times, JSON).
_events = sa.table(
    "log_events",
    sa.column("id", sa.Integer()),
    sa.column("hearing_id", sa.Integer()),
    sa.column("at", UtcDateTime()),
    sa.column("kind", sa.String()),
    sa.column("user_id", sa.Integer()),
    sa.column("office_id", sa.Integer()),
    sa.column("petition_id", sa.Integer()),
    sa.column("detail", sa.JSON()),
    sa.column("seq", sa.Integer()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)
_chains = sa.table(
    "log_chains",
    sa.column("hearing_id", sa.Integer()),
    sa.column("length", sa.Integer()),
    sa.column("head", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("log_events") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    op.create_table(
        "log_chains",
        sa.Column("hearing_id", sa.Integer(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["hearing_id"], ["hearings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("hearing_id"),
    )
    _backfill()
    with op.batch_alter_table("log_events") as batch:
        batch.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint("uq_log_events_hearing_seq", ["hearing_id", "seq"])


def _backfill() -> None:
    """Chain the events already in the log, one hearing after another, in id order."""
    bind = op.get_bind()
    heads: dict[int, tuple[int, str]] = {}
    updates: list[dict[str, Any]] = []
    result = bind.execute(sa.select(_events).order_by(_events.c.hearing_id, _events.c.id))
    for r in result:
        length, prev = heads.get(r.hearing_id, (0, GENESIS))
        event = ChainedEvent(
            id=r.id,
            hearing_id=r.hearing_id,
            seq=length + 1,
            at=r.at,
            kind=r.kind,
            user_id=r.user_id,
            office_id=r.office_id,
            petition_id=r.petition_id,
            detail=r.detail or {},
        )
        digest = link_hash(event, prev)
        heads[r.hearing_id] = (length + 1, digest)
        updates.append({"row_id": r.id, "seq": length + 1, "prev_hash": prev, "hash": digest})
    if updates:
        bind.execute(
            _events.update()
            .where(_events.c.id == sa.bindparam("row_id"))
            .values(
                seq=sa.bindparam("seq"),
                prev_hash=sa.bindparam("prev_hash"),
                hash=sa.bindparam("hash"),
            ),
            updates,
        )
    if heads:
        bind.execute(
            _chains.insert(),
            [{"hearing_id": h, "length": n, "head": last} for h, (n, last) in heads.items()],
        )


def downgrade() -> None:
    op.drop_table("log_chains")
    with op.batch_alter_table("log_events") as batch:
        batch.drop_constraint("uq_log_events_hearing_seq", type_="unique")
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")

"""Handling deadlines: the holiday table, offices' overrides, deadline alerts

Revision ID: 0014
Revises: 0008
Create Date: 2026-12-02 03:30:00.000000

`calendar_days` is the holiday table the admin keeps (days off, and weekend days worked in
exchange for one), seeded with Vietnam's 2026 and 2027 days below. `deadline_overrides` holds an
office's own number of days for a deadline rule (hub.domain.deadlines). Petitions gain what set
their handling deadline (`deadline_rule`), the day it counts from and the extensions granted; the
deadlines already typed in are kept as "manual", the others are filled in by the hub's daily
deadline task. `deadline_alerts` keeps one alert per petition and deadline.

The seeded days: Bộ luật Lao động 2019, Điều 112 (Tết Dương lịch 1; Tết Âm lịch 5; Giỗ Tổ Hùng
Vương 10/3 âm lịch 1; 30/4 1; 1/5 1; Quốc khánh 2/9 2, with the day before or after), Ngày Văn hóa
Việt Nam 24/11 (a paid day off from 2026, Nghị quyết 80-NQ/TW), the day off in lieu of a holiday
that falls on a weekend (Điều 111 khoản 3), and the government's 2026 swap for Quốc khánh (work
Saturday 22/8, off Monday 31/8). Cross-checked against the Vietnam calendar of the `holidays`
package (0.108); 2027's Tết days are its estimate until the government's notice: the admin
corrects them through /api/v1/calendar-days.
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TET_2026 = "Tết Nguyên đán Bính Ngọ"
_TET_2027 = "Tết Nguyên đán Đinh Mùi"
SEEDED: list[tuple[date, str, str]] = [
    (date(2026, 1, 1), "holiday", "Tết Dương lịch"),
    (date(2026, 2, 16), "holiday", f"{_TET_2026} (29 Tết)"),
    (date(2026, 2, 17), "holiday", f"{_TET_2026} (mùng 1)"),
    (date(2026, 2, 18), "holiday", f"{_TET_2026} (mùng 2)"),
    (date(2026, 2, 19), "holiday", f"{_TET_2026} (mùng 3)"),
    (date(2026, 2, 20), "holiday", f"{_TET_2026} (mùng 4)"),
    (date(2026, 4, 26), "holiday", "Giỗ Tổ Hùng Vương (10/3 âm lịch)"),
    (date(2026, 4, 27), "holiday", "Nghỉ bù Giỗ Tổ Hùng Vương"),
    (date(2026, 4, 30), "holiday", "Ngày Chiến thắng"),
    (date(2026, 5, 1), "holiday", "Ngày Quốc tế Lao động"),
    (date(2026, 8, 22), "workday", "Làm việc bù cho ngày nghỉ 31/8"),
    (date(2026, 8, 31), "holiday", "Nghỉ (hoán đổi với thứ Bảy 22/8)"),
    (date(2026, 9, 1), "holiday", "Quốc khánh"),
    (date(2026, 9, 2), "holiday", "Quốc khánh"),
    (date(2026, 11, 24), "holiday", "Ngày Văn hóa Việt Nam"),
    (date(2027, 1, 1), "holiday", "Tết Dương lịch"),
    (date(2027, 2, 4), "holiday", f"{_TET_2027} (29 Tết)"),
    (date(2027, 2, 5), "holiday", f"{_TET_2027} (30 Tết)"),
    (date(2027, 2, 6), "holiday", f"{_TET_2027} (mùng 1)"),
    (date(2027, 2, 7), "holiday", f"{_TET_2027} (mùng 2)"),
    (date(2027, 2, 8), "holiday", f"{_TET_2027} (mùng 3)"),
    (date(2027, 2, 9), "holiday", f"{_TET_2027} (mùng 4)"),
    (date(2027, 2, 10), "holiday", f"{_TET_2027} (mùng 5)"),
    (date(2027, 4, 16), "holiday", "Giỗ Tổ Hùng Vương (10/3 âm lịch)"),
    (date(2027, 4, 30), "holiday", "Ngày Chiến thắng"),
    (date(2027, 5, 1), "holiday", "Ngày Quốc tế Lao động"),
    (date(2027, 5, 3), "holiday", "Nghỉ bù Ngày Quốc tế Lao động"),
    (date(2027, 9, 2), "holiday", "Quốc khánh"),
    (date(2027, 9, 3), "holiday", "Quốc khánh"),
    (date(2027, 11, 24), "holiday", "Ngày Văn hóa Việt Nam"),
]


def upgrade() -> None:
    days = op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.bulk_insert(days, [{"day": d, "kind": k, "name": n} for d, k, n in SEEDED])
    op.create_table(
        "deadline_overrides",
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("extension_days", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["office_id"], ["offices.id"]),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("office_id", "rule"),
    )
    op.create_table(
        "deadline_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("petition_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["petition_id"], ["petitions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["office_id"], ["offices.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("petition_id", "due_on"),
    )
    op.create_index("ix_deadline_alerts_petition_id", "deadline_alerts", ["petition_id"])
    op.create_index("ix_deadline_alerts_office_id", "deadline_alerts", ["office_id"])
    # Plain ALTER TABLE ADD COLUMN (no batch): on SQLite a batch would copy the table and drop
    # the full-text triggers of migrations 0002 and 0004.
    op.add_column("petitions", sa.Column("deadline_rule", sa.String(length=40), nullable=True))
    op.add_column("petitions", sa.Column("deadline_started_on", sa.Date(), nullable=True))
    op.add_column(
        "petitions",
        sa.Column("deadline_extensions", sa.Integer(), nullable=False, server_default="0"),
    )
    op.execute(
        "UPDATE petitions SET deadline_rule = 'manual', deadline_started_on = received_on "
        "WHERE handling_deadline IS NOT NULL"
    )
    op.create_index("ix_petitions_due", "petitions", ["status", "handling_deadline", "office_id"])


def downgrade() -> None:
    op.drop_index("ix_petitions_due", table_name="petitions")
    # In place on both back ends (SQLite 3.35+): a batch would drop the full-text triggers.
    for column in ("deadline_extensions", "deadline_started_on", "deadline_rule"):
        op.execute(f"ALTER TABLE petitions DROP COLUMN {column}")
    op.drop_table("deadline_alerts")
    op.drop_table("deadline_overrides")
    op.drop_table("calendar_days")

"""SQLAlchemy tables: the one description of the schema (Alembic migrations follow it)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every back end (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class OfficeRow(Base):
    __tablename__ = "offices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(30))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"), index=True)
    # Materialised path '/1/5/12/': a prefix match selects a subtree (see domain.offices).
    path: Mapped[str] = mapped_column(
        # Byte order on PostgreSQL, whatever the database's collation: see services.scope.
        String(400).with_variant(String(400, collation="C"), "postgresql"),
        index=True,
        default="",
    )
    has_bridge_point: Mapped[bool] = mapped_column(Boolean, default=True)
    address: Mapped[str] = mapped_column(String(500), default="")


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class SessionRow(Base):
    """A sign-in: the token is stored only as its SHA-256."""

    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class HearingSeriesRow(Base):
    """A periodic reception's rule; its occurrences are ordinary hearings."""

    __tablename__ = "hearing_series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rrule: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]


class HearingRow(Base):
    __tablename__ = "hearings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    host_office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    chair_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("hearing_series.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    description: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(300), default="")
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    minutes: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]


class HearingSiteRow(Base):
    __tablename__ = "hearing_sites"

    hearing_id: Mapped[int] = mapped_column(
        ForeignKey("hearings.id", ondelete="CASCADE"), primary_key=True
    )
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), primary_key=True, index=True)


class PetitionRow(Base):
    __tablename__ = "petitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_code: Mapped[str] = mapped_column(String(40), unique=True)
    national_code: Mapped[str | None] = mapped_column(String(64), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(30))
    petitioner_name: Mapped[str] = mapped_column(String(200))
    petitioner_address: Mapped[str] = mapped_column(String(500), default="")
    petitioner_id_number: Mapped[str] = mapped_column(String(20), default="")
    crowd: Mapped[bool] = mapped_column(Boolean, default=False)
    people_count: Mapped[int] = mapped_column(Integer, default=1)
    representatives: Mapped[list[Any]] = mapped_column(JSON, default=list)
    subject_field: Mapped[str] = mapped_column(String(300), default="")
    respondent: Mapped[str] = mapped_column(String(300), default="")
    content: Mapped[str] = mapped_column(Text)
    request: Mapped[str] = mapped_column(Text, default="")
    competent_body: Mapped[str] = mapped_column(String(300), default="")
    received_on: Mapped[date] = mapped_column(Date)
    handling_deadline: Mapped[date | None] = mapped_column(Date)
    # Folded (lowercase, no diacritics) copy of the case's searchable fields (codes, subject,
    # respondent, content); see domain.petitions.fold. No personal data: every search reads it.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # The same for the petitioner's name and address, searched only when a search asks for
    # personal data (and is audited); the ID number is matched whole, from its own column.
    personal_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    # Indexed (migration 0015): an incremental export asks for the rows changed since a day.
    updated_at: Mapped[datetime] = mapped_column(index=True)
    # What set handling_deadline (migration 0014): a hub.domain.deadlines.RuleKey, "manual"
    # (typed in by staff), or NULL (no deadline running: a final state, or no rule applies).
    deadline_rule: Mapped[str | None] = mapped_column(String(40))
    # The day the rule counts from (received_on, the day of acceptance, shifted by the days a
    # case spent suspended), and the extensions granted in this stage.
    deadline_started_on: Mapped[date | None] = mapped_column(Date)
    deadline_extensions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # Covering indexes (migration 0002): each carries every filter column of the register's
    # list, so a count or a page is answered from one index without reading the table.
    __table_args__ = (
        Index("ix_petitions_received", "received_on", "id", "office_id", "type", "status", "crowd"),
        Index(
            "ix_petitions_office_received",
            "office_id",
            "received_on",
            "id",
            "type",
            "status",
            "crowd",
        ),
        Index("ix_petitions_type", "type", "received_on", "id", "office_id", "status", "crowd"),
        Index("ix_petitions_status", "status", "received_on", "id", "office_id", "type", "crowd"),
        Index(
            "ix_petitions_crowd",
            "received_on",
            "id",
            "office_id",
            "type",
            "status",
            "crowd",
            sqlite_where=text("crowd = 1"),
            postgresql_where=text("crowd"),
        ),
        # Overdue and due-this-week (migration 0014): the running stages by deadline.
        Index("ix_petitions_due", "status", "handling_deadline", "office_id"),
        # The periodic reports (migration 0016, hub.services.reports): a period's subject
        # fields, the petitions past their deadline, and those brought in person (visits),
        # each from one index.
        Index("ix_petitions_office_subject", "office_id", "received_on", "subject_field", "type"),
        Index(
            "ix_petitions_status_deadline", "status", "handling_deadline", "office_id", "type", "id"
        ),
        Index(
            "ix_petitions_in_person",
            "office_id",
            "received_on",
            "crowd",
            "people_count",
            "national_code",
            "id",
            sqlite_where=text("source = 'in_person'"),
            postgresql_where=text("source = 'in_person'"),
        ),
    )


class PetitionHistoryRow(Base):
    """Every status change of a petition, with who and why."""

    __tablename__ = "petition_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    petition_id: Mapped[int] = mapped_column(
        ForeignKey("petitions.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")

    # The petitions that reached a final outcome after a moment (migration 0016: overdue at a
    # past period's end, handled since).
    __table_args__ = (Index("ix_petition_history_status_at", "to_status", "at", "petition_id"),)


class HearingPetitionRow(Base):
    """A petition heard in a hearing, with when it was heard."""

    __tablename__ = "hearing_petitions"

    hearing_id: Mapped[int] = mapped_column(
        ForeignKey("hearings.id", ondelete="CASCADE"), primary_key=True
    )
    petition_id: Mapped[int] = mapped_column(
        ForeignKey("petitions.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    heard_from: Mapped[datetime | None]
    heard_to: Mapped[datetime | None]
    linked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    linked_at: Mapped[datetime]


class AdmissionRow(Base):
    """An office a moderator let into a live hearing (or that joined it admitted): its sites
    come back straight in after a drop or a restart of the hub or of a media worker, until
    it is sent to the waiting room, removed, or the hearing ends. Written with the session
    log's entries that change it (hub.domain.sessionlog.admission_change)."""

    __tablename__ = "hearing_admissions"

    hearing_id: Mapped[int] = mapped_column(
        ForeignKey("hearings.id", ondelete="CASCADE"), primary_key=True
    )
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), primary_key=True)
    admitted_at: Mapped[datetime]


class GuestRow(Base):
    """A person invited to a hearing by name and agency (hub.domain.guests), who joins with a
    personal link: only its token's SHA-256 is kept (migration 0013). `admitted_at` is the
    guest's admission to the live hearing, kept like an office's (hearing_admissions)."""

    __tablename__ = "hearing_guests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hearing_id: Mapped[int] = mapped_column(
        ForeignKey("hearings.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    agency: Mapped[str] = mapped_column(String(200))
    agency_kind: Mapped[str] = mapped_column(String(40))
    position: Mapped[str] = mapped_column(String(200), default="")
    # NULL until a link is issued; a new link replaces the old one's hash.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    link_issued_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    admitted_at: Mapped[datetime | None]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class LogEventRow(Base):
    """One session-log event. Append-only: no code path updates or deletes a row."""

    __tablename__ = "log_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"))
    petition_id: Mapped[int | None] = mapped_column(ForeignKey("petitions.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The hash chain (hub.domain.log_chain, migration 0009): the event's place in its
    # hearing's log, the previous event's hash and its own.
    seq: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    # Two appends can never both take a place: the chain cannot fork even if a lock failed.
    __table_args__ = (UniqueConstraint("hearing_id", "seq", name="uq_log_events_hearing_seq"),)


class LogChainRow(Base):
    """The head of a hearing's log chain (migration 0009): how many events and the last hash.
    Every append locks this row first (an upsert), so appends to one hearing take turns; it
    also shows events deleted from the end of the log."""

    __tablename__ = "log_chains"

    hearing_id: Mapped[int] = mapped_column(
        ForeignKey("hearings.id", ondelete="CASCADE"), primary_key=True
    )
    length: Mapped[int] = mapped_column(Integer)
    head: Mapped[str] = mapped_column(String(64))


class AuditRow(Base):
    """A read of a petition's personal data: who, when, which petition, how."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))


class SearchAuditRow(Base):
    """A search of petitioners' personal data: who, when, what was asked and how much matched,
    kept whether or not anything matched (migration 0004)."""

    __tablename__ = "search_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The searcher's office when it searched: whose auditors may read the entry.
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    # The text as the searcher typed it: an auditor must be able to tell whose data was sought.
    query: Mapped[str] = mapped_column(Text)
    # The other filters of the search (office, type, status, crowd, dates, limit, offset).
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    matched: Mapped[int] = mapped_column(Integer)
    returned: Mapped[int] = mapped_column(Integer)


class SelfTestRow(Base):
    """A site's self-test result as its page posted it (migration 0008): who ran it, where,
    when the hub received it, the score and reasons (hub.domain.self_tests), the figures."""

    __tablename__ = "self_tests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column()
    score: Mapped[str] = mapped_column(String(10))
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # An office's results newest first (its last one for the operators' board).
    __table_args__ = (Index("ix_self_tests_office_at", "office_id", "at"),)


class RecordingRow(Base):
    """A recording of a live hearing (migration 0011): who started and stopped it, when, where
    its files are (a folder under the recording directory), the combined file's SHA-256 and
    the manifest the media worker wrote (rooms/recorder.py). Status: recording, finished,
    failed, expired (its files deleted once the retention period passed)."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    folder: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime]
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    stopped_at: Mapped[datetime | None]
    stopped_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    duration_s: Mapped[float | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    deleted_at: Mapped[datetime | None]


class RecordingAccessRow(Base):
    """A playback or download of a recording: who, when, which recording, what (migration
    0011). Kept past the recording's deletion."""

    __tablename__ = "recording_access"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    action: Mapped[str] = mapped_column(String(80))


class SequenceRow(Base):
    """Per-office, per-year counters for human-readable case codes."""

    __tablename__ = "sequences"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (UniqueConstraint("name"),)


class AlertRow(Base):
    """A connectivity alert (hub.domain.alerts): opened when its condition starts, closed when
    it clears, acknowledged by an operator (migration 0006)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    hearing_id: Mapped[int | None] = mapped_column(ForeignKey("hearings.id"), index=True)
    opened_at: Mapped[datetime] = mapped_column(index=True)
    # Indexed: the board and GET /api/v1/alerts?open=true ask for the open ones (NULL).
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None]
    # '<kind>:<office>:<hearing or 0>' while open, NULL once closed: the unique index makes
    # "one open alert per kind, office and hearing" hold across nodes (NULLs never clash).
    open_key: Mapped[str | None] = mapped_column(String(80), unique=True)


class CalendarDayRow(Base):
    """The holiday table the admin keeps (migration 0014): a public holiday or day off, or a
    weekend day worked in exchange for one (hub.domain.deadlines.CalendarDayKind)."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))


class DeadlineOverrideRow(Base):
    """An office's own number of days for a deadline rule (migration 0014); it applies to the
    office and the offices under it that have none of their own."""

    __tablename__ = "deadline_overrides"

    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), primary_key=True)
    rule: Mapped[str] = mapped_column(String(40), primary_key=True)
    days: Mapped[int] = mapped_column(Integer)
    extension_days: Mapped[int | None] = mapped_column(Integer)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime]


class DeadlineAlertRow(Base):
    """A petition's deadline is near: raised once per petition and deadline (the unique pair)
    by the daily task, shown to its office's staff until the petition leaves the stage."""

    __tablename__ = "deadline_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    petition_id: Mapped[int] = mapped_column(
        ForeignKey("petitions.id", ondelete="CASCADE"), index=True
    )
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    rule: Mapped[str] = mapped_column(String(40))
    raised_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("petition_id", "due_on"),)


class MinutesRow(Base):
    """A hearing's minutes (biên bản, migration 0010): the content staff edit (JSON, see
    hub.domain.minutes.to_json), a version every save moves on (optimistic concurrency), and
    the leader's sign-off, after which no code path changes the row."""

    __tablename__ = "minutes"

    hearing_id: Mapped[int] = mapped_column(
        ForeignKey("hearings.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    drafted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    drafted_at: Mapped[datetime]
    updated_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime]
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime | None]


class ReceptionRow(Base):
    """A reception register row (sổ tiếp công dân, hub.domain.reception; migration 0015): one
    citizen received. `national_code` is its stable key in exchanges with the national
    database (hub.services.national_import)."""

    __tablename__ = "reception_register"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    national_code: Mapped[str] = mapped_column(String(64), unique=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    received_on: Mapped[date] = mapped_column(Date)
    petitioner_name: Mapped[str] = mapped_column(String(200))
    petitioner_address: Mapped[str] = mapped_column(String(500), default="")
    petitioner_id_number: Mapped[str] = mapped_column(String(20), default="")
    content: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(20))
    crowd: Mapped[bool] = mapped_column(Boolean, default=False)
    people_count: Mapped[int] = mapped_column(Integer, default=1)
    handled_before: Mapped[str] = mapped_column(String(300), default="")
    handling: Mapped[str] = mapped_column(String(30))
    follow_up: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # The case the citizen came about, when it is in the register of petitions.
    petition_id: Mapped[int | None] = mapped_column(ForeignKey("petitions.id"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    # Indexed: an incremental export asks for the rows changed since a day.
    updated_at: Mapped[datetime] = mapped_column(index=True)


class DelegationRow(Base):
    """A crowd delegation (đoàn đông người) received at an office (migration 0012): where it
    came from, how many people and who speaks for them, the matter, its visit number among the
    home office's visits on that matter (hub.domain.delegations), and its handling status."""

    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    receiving_office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    home_office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    received_on: Mapped[date] = mapped_column(Date, index=True)
    people_count: Mapped[int] = mapped_column(Integer)
    representatives: Mapped[list[Any]] = mapped_column(JSON, default=list)
    matter: Mapped[str] = mapped_column(Text)
    # Folded matter (hub.domain.delegations.matter_key): repeat visits compare it.
    matter_key: Mapped[str] = mapped_column(String(500))
    subject_field: Mapped[str] = mapped_column(String(300), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), index=True)
    visit_number: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    # A home office's visits by date: repeat counting reads the window before a new one.
    __table_args__ = (Index("ix_delegations_home_received", "home_office_id", "received_on"),)


class DelegationPetitionRow(Base):
    """A petition a delegation brought (the same petition may come back with a later visit)."""

    __tablename__ = "delegation_petitions"

    delegation_id: Mapped[int] = mapped_column(
        ForeignKey("delegations.id", ondelete="CASCADE"), primary_key=True
    )
    petition_id: Mapped[int] = mapped_column(
        ForeignKey("petitions.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class DelegationHearingRow(Base):
    """The joint hearing opened from a delegation: hosted by the receiving office, with the
    delegation's home office invited even when it lies outside the host's subtree (the one
    exception to that rule, hub.services.hearings.delegation_guests)."""

    __tablename__ = "delegation_hearings"

    hearing_id: Mapped[int] = mapped_column(
        ForeignKey("hearings.id", ondelete="CASCADE"), primary_key=True
    )
    delegation_id: Mapped[int] = mapped_column(
        ForeignKey("delegations.id", ondelete="CASCADE"), index=True
    )

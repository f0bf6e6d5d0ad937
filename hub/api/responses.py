"""Wire formats of the API's answers: every handler encodes its answer through one of these
models, and the OpenAPI document's response schemas are generated from the same models, so the
two cannot disagree."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.domain.alerts import AlertKind
from hub.domain.hearings import HearingKind, HearingStatus
from hub.domain.link_grade import Grade
from hub.domain.petitions import PetitionStatus, PetitionType, Source
from hub.domain.users import Role

log = logging.getLogger(__name__)

# Times go out as ISO 8601 text in Vietnam's offset (hub.clock.local_iso), dates as YYYY-MM-DD.
DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Day = Annotated[str, Field(json_schema_extra={"format": "date"})]

# Where a handler's response records the model it was encoded with (the registry checks it).
ENCODED_AS = web.ResponseKey("encoded_as", str)


class Out(BaseModel):
    """Base of answers: a field the model does not declare is an error, not a silent extra, so a
    service that grows a field must grow the documented schema with it."""

    model_config = ConfigDict(extra="forbid")


def reply(model: type[Out], data: Mapping[str, Any], status: int = 200) -> web.Response:
    """Encode `data` as `model` says (the documented schema) into a JSON response."""
    try:
        # pydantic writes the JSON itself (in Rust): no dict of the answer built first and
        # walked again by the json module.
        body = model.model_validate(data).model_dump_json(exclude_unset=True)
    except ValidationError as exc:
        # Our own answer does not fit its schema: a bug here, never the client's 422.
        log.error("answer does not match %s: %s", model.__name__, exc)
        raise RuntimeError(f"answer does not match its schema {model.__name__}") from exc
    response = web.Response(text=body, status=status, content_type="application/json")
    response[ENCODED_AS] = model.__name__
    return response


# --- errors ------------------------------------------------------------------------------------


class ErrorDetail(Out):
    message: str = Field(description="what went wrong, in words a person can act on")
    fields: dict[str, str] = Field(description="problem per field name (empty when none)")
    code: str = Field("error", description="machine-readable kind, e.g. validation_failed")


class Error(Out):
    """Every failure: {"error": {"message", "fields", "code"}}."""

    error: ErrorDetail


class Ok(Out):
    ok: Literal[True]


# --- sign-in, offices, users -------------------------------------------------------------------


class Me(Out):
    """The signed-in user (hub.services.access.actor_view)."""

    id: int
    username: str
    display_name: str
    role: Role
    office_id: int
    office_name: str


class SignIn(Out):
    token: str = Field(description="send as 'Authorization: Bearer <token>'")
    csrf_token: str = Field(description="echo in X-CSRF-Token when signed in by cookie")
    expires_at: DateTime
    user: Me


class WhoAmI(Out):
    user: Me
    csrf_token: str


class Office(Out):
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    has_bridge_point: bool
    address: str
    depth: int = Field(description="0 for the central office, 1 for a province, ...")


class OfficeList(Out):
    items: list[Office]
    total: int


class User(Out):
    id: int
    username: str
    display_name: str
    role: Role
    office_id: int
    active: bool
    office_name: str | None = Field(None, description="in lists; left out on creation")


class UserList(Out):
    items: list[User]
    total: int


# --- hearings ----------------------------------------------------------------------------------


class HearingSite(Out):
    office_id: int
    name: str
    code: str


class HeardPetition(Out):
    """A petition a hearing heard: key fields only, no personal data (every site sees it)."""

    petition_id: int
    case_code: str
    type: PetitionType
    status: PetitionStatus
    subject_field: str
    crowd: bool
    people_count: int
    office_id: int
    heard_from: DateTime | None
    heard_to: DateTime | None


class Occurrence(Out):
    id: int
    starts_at: DateTime


class HearingSummary(Out):
    id: int
    title: str
    kind: HearingKind
    status: HearingStatus
    host_office_id: int
    host_office_name: str | None
    site_office_ids: list[int]
    sites: list[HearingSite]
    chair_user_id: int | None
    chair_name: str | None
    starts_at: DateTime
    ends_at: DateTime
    started_at: DateTime | None
    ended_at: DateTime | None
    series_id: int | None
    recurrence: str | None = Field(description="the series' RRULE, when part of one")
    description: str
    location: str
    published: bool
    minutes: str


class Hearing(HearingSummary):
    petitions: list[HeardPetition]
    occurrences: list[Occurrence] | None = Field(
        None, description="on creating a series: every occurrence made"
    )


class HearingList(Out):
    items: list[HearingSummary]
    total: int


class PetitionLink(Out):
    hearing_id: int
    petition_id: int
    heard_from: DateTime | None
    heard_to: DateTime | None


class LogEvent(Out):
    id: int
    at: DateTime
    kind: str
    user_id: int | None
    user_name: str | None
    office_id: int | None
    office_name: str | None
    petition_id: int | None
    detail: dict[str, Any]


class LogList(Out):
    items: list[LogEvent]
    total: int


class JoinToken(Out):
    token: str
    hearing_id: int
    office_id: int
    expires_at: DateTime


# --- self-tests --------------------------------------------------------------------------------


class SelfTest(Out):
    id: int
    office_id: int
    office_name: str
    user_id: int
    user_name: str
    at: DateTime = Field(description="when the hub kept the result")
    score: Literal["good", "okay", "bad"]
    reasons: list[str]
    figures: dict[str, Any]


class SelfTestList(Out):
    items: list[SelfTest]
    total: int


# --- recordings --------------------------------------------------------------------------------


class RecordingSite(Out):
    office_id: int
    office_name: str
    offset_s: float = Field(description="where the site's file starts on the recording's timeline")
    duration_s: float
    codecs: dict[str, str] = Field(description="kind -> codec as recorded (vp8, h264, opus)")
    sha256: str | None
    url: str | None = Field(
        description="the site's playback file (WebM for VP8); null once deleted"
    )


class RecordingChapter(Out):
    title: str = Field(description="the petition's case code")
    petition_id: int | None
    start_s: float
    end_s: float


class Recording(Out):
    id: int
    hearing_id: int
    status: Literal["recording", "finished", "failed", "expired"]
    started_at: DateTime
    started_by: str | None
    stopped_at: DateTime | None
    stopped_by: str | None
    duration_s: float | None
    sha256: str | None = Field(description="SHA-256 of the combined file (also in the session log)")
    size_bytes: int | None
    file_url: str | None = Field(
        description="the combined Matroska file: every site's tracks, chapters"
    )
    sites: list[RecordingSite]
    chapters: list[RecordingChapter]
    deleted_at: DateTime | None


class RecordingList(Out):
    items: list[Recording]


# --- petitions ---------------------------------------------------------------------------------


class PetitionSummary(Out):
    """A register line: includes the petitioner's name, not the rest of the personal data."""

    id: int
    case_code: str
    national_code: str | None
    type: PetitionType
    status: PetitionStatus
    office_id: int
    office_name: str | None
    petitioner_name: str
    crowd: bool
    people_count: int
    subject_field: str
    source: Source
    received_on: Day
    handling_deadline: Day | None


class PetitionStep(Out):
    at: DateTime
    from_status: PetitionStatus | None
    to_status: PetitionStatus
    user_name: str | None
    note: str


class PetitionHearing(Out):
    hearing_id: int
    title: str
    status: HearingStatus
    starts_at: DateTime
    heard_from: DateTime | None
    heard_to: DateTime | None


class Petition(PetitionSummary):
    petitioner_address: str
    petitioner_id_number: str
    representatives: list[str]
    respondent: str
    content: str
    request: str
    competent_body: str
    allowed_next_status: list[PetitionStatus]
    created_at: DateTime
    updated_at: DateTime
    history: list[PetitionStep]
    hearings: list[PetitionHearing]


class PetitionList(Out):
    items: list[PetitionSummary]
    total: int | None = Field(
        description="how many match; null for a text search matching more than 200, and for "
        "a personal-data search (personal=true)"
    )
    has_more: bool = Field(description="whether a page follows this one")


class AuditEntry(Out):
    id: int
    at: DateTime
    user_id: int
    username: str
    petition_id: int
    case_code: str
    action: str = Field(description="read (the full record) or list (a register line)")


class AuditList(Out):
    items: list[AuditEntry]
    total: int


class SearchAuditEntry(Out):
    id: int
    at: DateTime
    user_id: int
    username: str
    office_id: int = Field(description="the searcher's office when it searched")
    query: str = Field(description="the text searched, as typed")
    filters: dict[str, Any] = Field(description="the search's other filters")
    matched: int = Field(
        description="how many petitions matched, counted up to 201 (which says more than 200; "
        "the searcher was not told)"
    )
    returned: int = Field(description="how many the searcher was shown")


class SearchAuditList(Out):
    items: list[SearchAuditEntry]
    total: int


# --- connectivity ------------------------------------------------------------------------------


class Alert(Out):
    """A connectivity alert (hub.services.alerts.view)."""

    id: int
    kind: AlertKind
    office_id: int
    office_name: str | None
    hearing_id: int | None = Field(description="the hearing it was raised during, if any")
    opened_at: DateTime
    closed_at: DateTime | None = Field(description="when its condition cleared; null while open")
    open: bool
    detail: dict[str, Any] = Field(description="figures and words of the condition")
    acknowledged_by: int | None = Field(description="the user who acknowledged it first")
    acknowledged_by_name: str | None
    acknowledged_at: DateTime | None


class AlertList(Out):
    items: list[Alert]
    total: int


class LinkReason(Out):
    """Why a link got its grade (hub.domain.link_grade.Reason)."""

    code: Literal[
        "loss", "rtt", "jitter", "no_media", "limited_bandwidth", "limited_cpu", "relay"
    ] = Field(description="what a page translates")
    grade: Grade
    value: float | None = Field(description="the figure's recent (lower median) value")
    limit: float | None = Field(description="the bound it reached")
    text: str = Field(description="in English, for logs")


class LinkFigures(Out):
    """One sample of a site's link: every figure is left out when it was not measured."""

    at: DateTime
    rtt_ms: float | None = None
    loss_pct: float | None = None
    jitter_ms: float | None = None
    bitrate_in_kbps: float | None = None
    bitrate_out_kbps: float | None = None
    fps: float | None = None
    keyframe_requests: int | None = None
    sent_width: int | None = None
    sent_height: int | None = None
    sent_fps: float | None = None
    quality_limitation: Literal["none", "cpu", "bandwidth", "other"] | None = None
    candidate_type: Literal["host", "srflx", "prflx", "relay"] | None = None
    available_outgoing_kbps: float | None = None


class LinkPoint(Out):
    """One step of a series: its start, how many samples it holds, each figure's mean (null
    where none measured it)."""

    at: DateTime
    samples: int
    rtt_ms: float | None
    loss_pct: float | None
    jitter_ms: float | None
    bitrate_in_kbps: float | None
    bitrate_out_kbps: float | None
    fps: float | None
    keyframe_requests: float | None
    sent_width: float | None
    sent_height: float | None
    sent_fps: float | None
    available_outgoing_kbps: float | None


class LinkReport(Out):
    """A site's link: the grade now with its reasons, the latest sample, the last 15 minutes in
    30-second steps and (unless graph=false) the last 24 hours in 5-minute steps."""

    office_id: int
    office_name: str
    grade: Grade = Field(description="unknown when no sample arrived lately")
    reasons: list[LinkReason]
    samples: int = Field(description="how many recent samples the grade is taken over")
    latest: LinkFigures | None
    sparkline: list[LinkPoint]
    graph: list[LinkPoint] | None = Field(description="null when graph=false was asked")

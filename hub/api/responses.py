"""Wire formats of the API's answers: every handler encodes its answer through one of these
models, and the OpenAPI document's response schemas are generated from the same models, so the
two cannot disagree."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from hub.domain.alerts import AlertKind
from hub.domain.delegations import DelegationStatus
from hub.domain.hearings import HearingKind, HearingStatus
from hub.domain.link_grade import Grade
from hub.domain.national_format import FIELDS, FieldType, Record
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
    delegation_id: int | None = Field(
        None, description="the crowd delegation this joint hearing was opened from, if any"
    )


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


class LogBreak(Out):
    """The first link of a hearing's log chain that does not hold (hub.domain.log_chain)."""

    hearing_id: int
    event_id: int | None = Field(description="null when events are missing from the end")
    seq: int | None
    problem: Literal["sequence", "previous hash", "event hash", "chain head"]
    expected: str
    found: str
    message: str


class LogVerification(Out):
    """Whether a hearing's session log verifies: its hash chain holds from the first event to
    the chain head."""

    # "break" is a Python keyword: the field is break_, written and read as "break".
    model_config = ConfigDict(extra="forbid", serialize_by_alias=True)

    hearing_id: int
    events: int = Field(description="events checked, up to and including the break")
    ok: bool
    break_: LogBreak | None = Field(alias="break", description="null when the log verifies")


class JoinToken(Out):
    token: str
    hearing_id: int
    office_id: int
    expires_at: DateTime


class MinutesPetition(Out):
    petition_id: int
    case_code: str
    petitioner: str
    summary: str
    heard_from: DateTime | None
    heard_to: DateTime | None
    handling: str
    notes: str


class MinutesContent(Out):
    """What the minutes say (hub.domain.minutes.to_json)."""

    number: str = Field(description="number and symbol, e.g. 12/BB-TW ('...' until signed)")
    parent_body: str
    issuing_body: str
    host_office: str
    place_name: str = Field(description="the place of the date line, e.g. Hà Nội")
    title: str
    opened_at: DateTime
    closed_at: DateTime | None
    location: str
    chair: str
    recorder: str
    participants: list[str]
    sites: list[str]
    absent_sites: list[str]
    petitions: list[MinutesPetition]
    notes: str
    conclusion: str


class Minutes(Out):
    """A hearing's minutes: stored (version >= 1) or a draft from the log (version 0)."""

    hearing_id: int
    version: int = Field(description="send it back with an edit or a sign-off")
    status: Literal["draft", "signed"]
    stored: bool
    content: MinutesContent
    drafted_by: str | None
    drafted_at: DateTime | None
    updated_by: str | None
    updated_at: DateTime | None
    signed_by: str | None
    signed_at: DateTime | None


class File(Out):
    """A download: documented by its media type (hub.api.openapi), sent with reply_file."""


def reply_file(body: bytes, media_type: str, filename: str) -> web.Response:
    """A file download; the file name (ASCII) goes into Content-Disposition."""
    response = web.Response(
        body=body,
        content_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
    response[ENCODED_AS] = File.__name__
    return response


class Guest(Out):
    """A hearing's guest (hub.services.guests.view): never its link's token."""

    id: int
    hearing_id: int
    name: str
    agency: str
    agency_kind: str
    position: str
    link_state: Literal["none", "active", "revoked", "expired"]
    link_issued_at: DateTime | None
    revoked_at: DateTime | None
    admitted: bool
    created_at: DateTime


class GuestList(Out):
    items: list[Guest]
    total: int


class GuestLink(Out):
    """A guest's new personal link: shown this once (the hub keeps only its hash)."""

    guest: Guest
    token: str
    url: str = Field(description="the link to open in a browser (what the QR code holds)")
    qr_svg: str = Field(description="the QR code of `url`, as a data:image/svg+xml URI")


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


class PetitionDeadline(Out):
    """What set the handling deadline: a rule (hub/domain/deadlines.py), manual, or none."""

    rule: str = Field(description="intake, complaint_resolution, denunciation_resolution, "
                      "manual (typed in) or none (no rule for the stage)")  # fmt: skip
    started_on: Day | None = Field(description="the day the period counts from")
    extensions: int
    max_extensions: int
    count: Literal["working", "calendar"] | None
    law: str | None


class PetitionDelegation(Out):
    """A crowd delegation that brought a petition (its key fields; the delegation itself is
    read in its own scope)."""

    delegation_id: int
    received_on: Day
    receiving_office_name: str
    home_office_name: str
    visit_number: int
    status: DelegationStatus


class Petition(PetitionSummary):
    petitioner_address: str
    petitioner_id_number: str
    representatives: list[str]
    respondent: str
    content: str
    request: str
    competent_body: str
    allowed_next_status: list[PetitionStatus]
    deadline: PetitionDeadline | None
    created_at: DateTime
    updated_at: DateTime
    history: list[PetitionStep]
    hearings: list[PetitionHearing]
    delegations: list[PetitionDelegation] = Field(
        default_factory=list, description="the crowd delegations that brought it"
    )


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
    action: str = Field(
        description="read (the full record), list (a register line), export (a national-format "
        "export, docs/export-format.md) or suggest_home (its address read to suggest a crowd "
        "delegation's home office)"
    )


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


# --- deadlines ---------------------------------------------------------------------------------


class CalendarDay(Out):
    day: Day
    kind: Literal["holiday", "workday"]
    name: str


class CalendarDayList(Out):
    items: list[CalendarDay]


class OfficeRule(Out):
    rule: str
    law: str
    count: Literal["working", "calendar"]
    law_days: int
    law_extension_days: int
    max_extensions: int
    days: int = Field(description="as the office applies it")
    extension_days: int = Field(description="as the office applies it")
    override_office_id: int | None = Field(
        description="the office whose override is in force (this one or one above); null: the law's"
    )


class OfficeRules(Out):
    office_id: int
    office_name: str
    rules: list[OfficeRule]


class DueCounts(Out):
    overdue: int = Field(description="received or accepted petitions past their deadline")
    due_within: int = Field(description="due from today to within_days ahead")


# --- reports (hub.services.reports) ------------------------------------------------------------


class HearingFigures(Out):
    held: int = Field(description="hearings held: started in the period")
    online: int = Field(description="held with at least one site invited besides the host")
    in_person: int = Field(description="held with no other site")
    sites_connected: int = Field(description="distinct (hearing, office) pairs that joined")
    site_drops: int = Field(description="sites dropped (the session log's participant_dropped)")


class HearingReport(HearingFigures):
    by_kind: dict[HearingKind, HearingFigures]


class IncidentFigures(Out):
    total: int = Field(description="connectivity alerts opened in the period")
    during_hearings: int = Field(description="of which raised during a hearing")


class IncidentReport(IncidentFigures):
    by_kind: dict[AlertKind, IncidentFigures]


class ReceptionFigures(Out):
    visits: int = Field(description="lượt tiếp: petitions brought in person, petitions heard")
    people: int
    cases_new: int = Field(description="matters first received in the period (mới phát sinh)")
    cases_repeated: int = Field(description="matters received before the period (cũ)")


class ReceptionReport(Out):
    """Regular reception (thường xuyên) and the leaders' periodic and ad hoc receptions."""

    regular: ReceptionFigures
    leaders: ReceptionFigures


class CrowdFigures(Out):
    delegations: int = Field(description="crowd delegations received (for now: crowd visits)")
    people: int
    cases_new: int
    cases_repeated: int


class CrowdReport(Out):
    regular: CrowdFigures
    leaders: CrowdFigures


class SubjectFigures(Out):
    subject_field: str = Field(description="as recorded; empty when none was")
    total: int
    by_type: dict[PetitionType, int]


class PetitionReport(Out):
    """Petitions received in the period, their outcome being their status now."""

    received: int
    by_type: dict[PetitionType, int]
    by_status: dict[PetitionStatus, int]
    by_type_status: dict[PetitionType, dict[PetitionStatus, int]]
    by_subject: list[SubjectFigures] = Field(description="heaviest first, none recorded last")
    crowd: int = Field(description="crowd petitions (đông người)")
    crowd_people: int


class OverdueReport(Out):
    total: int = Field(description="deadline passed without a final outcome, as of as_of")
    by_type: dict[PetitionType, int]
    as_of: DateTime


class DueWeekReport(Out):
    total: int = Field(
        description="open as of as_of, the deadline from first_day to last_day (7 days)"
    )
    by_type: dict[PetitionType, int]
    first_day: Day
    last_day: Day


class Report(Out):
    """An office's and its subtree's figures for a month, a quarter or a year."""

    office_id: int
    office_name: str
    period: str = Field(description="2026-11, 2026-Q4 or 2026")
    period_kind: Literal["month", "quarter", "year"]
    first_day: Day
    last_day: Day
    as_of: DateTime = Field(description="the period's end, or now while it lasts")
    generated_at: DateTime
    hearings: HearingReport
    connection_incidents: IncidentReport
    reception: ReceptionReport
    crowd_delegations: CrowdReport
    petitions: PetitionReport
    overdue: OverdueReport
    due_week: DueWeekReport


# --- national database exchange (docs/export-format.md) ---------------------------------------


def _national_row(name: str, record: Record) -> type[Out]:
    """A row model built from the format's own field list (hub.domain.national_format), so that
    the OpenAPI schema and the files cannot drift apart."""
    types: dict[FieldType, Any] = {
        FieldType.STRING: str,
        FieldType.DATE: Day,
        FieldType.DATETIME: DateTime,
        FieldType.INTEGER: int,
        FieldType.BOOLEAN: bool,
        FieldType.LIST: list[str],
    }
    fields: dict[str, Any] = {}
    for spec in FIELDS[record]:
        kind: Any = Literal[spec.codes] if spec.codes else types[spec.type]
        if spec.nullable:
            kind = kind | None
        fields[spec.name] = (kind, Field(description=spec.description))
    model: type[Out] = create_model(name, __base__=Out, **fields)
    return model


NationalPetition = _national_row("NationalPetition", Record.PETITION)
NationalReception = _national_row("NationalReception", Record.RECEPTION)


class NationalExport(Out):
    """The national-format JSON document of an office's subtree."""

    format: Literal["tcd-hub-national"]
    version: Literal[1]
    exported_at: DateTime
    office: str | None
    since: Day | None
    petitions: list[NationalPetition]  # type: ignore[valid-type]
    reception_register: list[NationalReception]  # type: ignore[valid-type]


class RefusedRow(Out):
    row: str = Field(description="petitions[i] or reception_register[i] (JSON), line N (CSV)")
    record: Literal["petition", "reception"] | None
    key: str | None = Field(description="the row's national code or case code, if it had one")
    reasons: dict[str, str] = Field(description="why, per field")


class ImportCounts(Out):
    created: int
    updated: int
    unchanged: int
    refused: int


class ImportReport(Out):
    """What an import did: rows created, updated, unchanged (nothing written), and refused."""

    created: int
    updated: int
    unchanged: int
    refused: list[RefusedRow]
    by_record: dict[Literal["petition", "reception"], ImportCounts]


# --- crowd delegations -------------------------------------------------------------------------


class DelegationPetition(Out):
    """A petition a delegation brought: key fields only, no personal data (the home office
    reads the delegation, not necessarily the petitions)."""

    petition_id: int
    case_code: str
    type: PetitionType
    status: PetitionStatus
    subject_field: str
    people_count: int
    office_id: int


class DelegationHearing(Out):
    hearing_id: int
    title: str
    status: HearingStatus
    host_office_id: int
    starts_at: DateTime


class DelegationSummary(Out):
    """A crowd delegation (hub.services.delegations.view) without its petitions."""

    id: int
    receiving_office_id: int
    receiving_office_name: str
    home_office_id: int
    home_office_name: str
    province_office_id: int = Field(description="the province the home office lies in")
    province_name: str
    received_on: Day
    people_count: int
    representatives_count: int
    matter: str
    subject_field: str
    status: DelegationStatus
    visit_number: int = Field(
        description="1 + the earlier visits from the same home office within 90 days on the same "
        "matter or with one of the same petitions"
    )
    skipped_level: bool = Field(description="vượt cấp: received at an office above the home office")
    from_elsewhere: bool = Field(description="the home office is not the receiving office")
    hearing_id: int | None = Field(description="the latest joint hearing opened from it")
    created_at: DateTime
    closed_at: DateTime | None


class Delegation(DelegationSummary):
    representatives: list[str]
    note: str
    petitions: list[DelegationPetition]
    hearings: list[DelegationHearing]


class DelegationList(Out):
    items: list[DelegationSummary]
    total: int


class ProvinceCount(Out):
    province_office_id: int
    province_name: str
    open: int
    handling: int
    closed: int
    skipped_level: int = Field(description="of them, how many went past their own level")
    total: int


class DelegationBoard(Out):
    """Delegations by the province they came from: open, being handled, closed, vượt cấp."""

    provinces: list[ProvinceCount]
    totals: ProvinceCount


class HomeCandidate(Out):
    office_id: int
    name: str
    addresses: int = Field(description="how many addresses lie in its area")


class HomeSuggestion(Out):
    """The home office suggested from the petitioners' addresses (null when none names a
    place an office is named after)."""

    office_id: int | None
    office_name: str | None
    candidates: list[HomeCandidate]
    matched: int = Field(description="addresses that named a place")
    addresses: int = Field(description="addresses read")

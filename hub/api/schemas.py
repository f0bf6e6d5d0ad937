"""Wire formats of the JSON API: declared once, validated at the edge (strict types)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from hub.domain.deadlines import MAX_DAYS, MAX_EXTENSION_DAYS, CalendarDayKind, Due, RuleKey
from hub.domain.errors import ValidationFailed
from hub.domain.guests import AgencyKind
from hub.domain.hearings import HearingKind
from hub.domain.petitions import PetitionStatus, PetitionType, Source
from hub.domain.reports import PERIOD_HINT, Period

Text300 = Annotated[str, StringConstraints(max_length=300)]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]

# Every {placeholder} of an API path, by name (the registry refuses a route with another).
# Ids are 32-bit on PostgreSQL; hub.api.edge.path_id answers 404 for anything else.
PATH_PARAMS: dict[str, Any] = {
    "id": Annotated[int, Field(ge=1, le=2**31 - 1, description="the record's id")],
    "petition_id": Annotated[int, Field(ge=1, le=2**31 - 1, description="a petition's id")],
    "day": Annotated[date, Field(description="a day, YYYY-MM-DD")],
    "rule": Annotated[
        str,
        Field(
            description="a deadline rule (hub/domain/deadlines.py)",
            json_schema_extra={"enum": [str(k) for k in RuleKey]},
        ),
    ],
    "guest_id": Annotated[int, Field(ge=1, le=2**31 - 1, description="a hearing guest's id")],
}


class Body(BaseModel):
    """Base of request bodies: unknown fields and wrong types are errors, not guesses."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Patch(Body):
    """Base of PATCH bodies: a field left out stays as it is; null clears only what may be empty."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent; ValidationFailed for a null where a value is required.

        (Checked here, not in a field validator: a "before" validator would make pydantic
        validate the JSON strings in Python mode, where "2027-01-01T08:00+07:00" is no datetime.)
        """
        sent = self.model_dump(exclude_unset=True)
        nulls = sorted(k for k, v in sent.items() if v is None and k not in self.NULLABLE)
        if nulls:
            problem = "must not be null (leave the field out to keep it)"
            raise ValidationFailed(f"invalid {nulls[0]}: {problem}", dict.fromkeys(nulls, problem))
        return sent


class LoginBody(Body):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class OfficeBody(Body):
    code: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    level: Annotated[str, StringConstraints(min_length=1, max_length=30)]
    parent_id: Id
    has_bridge_point: bool = True
    address: Annotated[str, StringConstraints(max_length=500)] = ""


class UserBody(Body):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    role: Literal["leader", "staff", "operator", "admin"]
    office_id: Id
    password: Annotated[str, StringConstraints(min_length=4, max_length=200)]


class HearingBody(Body):
    title: Text300
    kind: HearingKind
    host_office_id: Id
    site_office_ids: Annotated[list[Id], Field(max_length=200)] = []
    chair_user_id: Id | None = None
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    recurrence: Annotated[str, StringConstraints(max_length=500)] | None = None
    description: Annotated[str, StringConstraints(max_length=5000)] = ""
    location: Text300 = ""


class HearingPatch(Patch):
    NULLABLE = frozenset({"chair_user_id"})

    title: Text300 | None = None
    site_office_ids: Annotated[list[Id], Field(max_length=200)] | None = None
    chair_user_id: Id | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    description: Annotated[str, StringConstraints(max_length=5000)] | None = None
    location: Text300 | None = None
    published: bool | None = None
    minutes: Annotated[str, StringConstraints(max_length=100_000)] | None = None


class StatusReason(Body):
    reason: Annotated[str, StringConstraints(max_length=1000)] = ""


class JoinTokenBody(Body):
    office_id: Id | None = None


class GuestBody(Body):
    """A person invited to a hearing by name and agency (hub.domain.guests)."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    agency: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    agency_kind: AgencyKind
    position: Annotated[str, StringConstraints(max_length=200)] = ""


class LinkBody(Body):
    """heard_from / heard_to: an ISO 8601 time with offset, or "now"."""

    heard_from: AwareDatetime | Literal["now"] | None = None
    heard_to: AwareDatetime | Literal["now"] | None = None


class NoteBody(Body):
    text: Annotated[str, StringConstraints(min_length=1, max_length=5000)]


# --- minutes (biên bản) -----------------------------------------------------------------------

Line300 = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Long = Annotated[str, StringConstraints(max_length=20_000)]


class MinutesPetitionBody(Body):
    """One petition heard, as the minutes record it."""

    petition_id: Id
    case_code: Line300
    petitioner: Line300
    summary: Long = ""
    heard_from: AwareDatetime | None = None
    heard_to: AwareDatetime | None = None
    handling: Line300
    notes: Long = ""


class MinutesContentBody(Body):
    """Everything the minutes say (hub.domain.minutes.MinutesContent checks the rules)."""

    number: Line300
    parent_body: Text300 = ""
    issuing_body: Line300
    host_office: Line300
    place_name: Line300
    title: Line300
    opened_at: AwareDatetime
    closed_at: AwareDatetime | None = None
    location: Text300 = ""
    chair: Line300
    recorder: Text300 = ""
    participants: Annotated[list[Line300], Field(max_length=200)] = []
    sites: Annotated[list[Line300], Field(max_length=200)] = []
    absent_sites: Annotated[list[Line300], Field(max_length=200)] = []
    petitions: Annotated[list[MinutesPetitionBody], Field(max_length=200)] = []
    notes: Long = ""
    conclusion: Long = ""


class MinutesBody(Body):
    """PUT: the whole content, with the version it was edited from (0 for a first save)."""

    version: Annotated[int, Field(ge=0, le=2**31 - 1)]
    content: MinutesContentBody


class MinutesSignBody(Body):
    """Sign off the version the leader read (0: the draft, never saved)."""

    version: Annotated[int, Field(ge=0, le=2**31 - 1)]


class PetitionBody(Body):
    type: PetitionType
    office_id: Id
    petitioner_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    petitioner_address: Annotated[str, StringConstraints(max_length=500)] = ""
    petitioner_id_number: Annotated[str, StringConstraints(max_length=20)] = ""
    content: Annotated[str, StringConstraints(min_length=1, max_length=20000)]
    crowd: bool = False
    people_count: Annotated[int, Field(ge=1, le=100000)] = 1
    representatives: Annotated[list[Text300], Field(max_length=50)] = []
    subject_field: Text300 = ""
    source: Source = Source.IN_PERSON
    received_on: date
    respondent: Text300 = ""
    request: Annotated[str, StringConstraints(max_length=5000)] = ""
    competent_body: Text300 = ""
    handling_deadline: date | None = None
    national_code: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


class PetitionPatch(Patch):
    NULLABLE = frozenset({"handling_deadline", "national_code"})

    status: PetitionStatus | None = None
    status_note: Annotated[str, StringConstraints(max_length=2000)] = ""
    status_on: date | None = Field(
        None,
        description="with a status change: the day it was decided, when not today (from the "
        "day received to today); an acceptance's deadline counts from it",
    )
    type: PetitionType | None = None
    petitioner_name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    petitioner_address: Annotated[str, StringConstraints(max_length=500)] | None = None
    petitioner_id_number: Annotated[str, StringConstraints(max_length=20)] | None = None
    content: Annotated[str, StringConstraints(min_length=1, max_length=20000)] | None = None
    crowd: bool | None = None
    people_count: Annotated[int, Field(ge=1, le=100000)] | None = None
    representatives: Annotated[list[Text300], Field(max_length=50)] | None = None
    subject_field: Text300 | None = None
    source: Source | None = None
    respondent: Text300 | None = None
    request: Annotated[str, StringConstraints(max_length=5000)] | None = None
    competent_body: Text300 | None = None
    handling_deadline: date | None = None
    national_code: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


class ExtensionBody(Body):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class CalendarDayBody(Body):
    kind: CalendarDayKind = Field(
        description="holiday: the offices do not work; workday: a Saturday or Sunday worked in "
        "exchange for a day off"
    )
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class OverrideBody(Body):
    days: Annotated[int, Field(ge=1, le=MAX_DAYS)]
    extension_days: Annotated[int, Field(ge=0, le=MAX_EXTENSION_DAYS)] | None = Field(
        None, description="days per extension; null: the law's"
    )


_Ms = Annotated[float, Field(ge=0, le=600_000, allow_inf_nan=False)]
_Percent = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
_Level = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
_Pixels = Annotated[int, Field(ge=0, le=16384)]


class SelfTestFigures(Body):
    """What a self-test measured (its page's getStats() and level meter); null: not measured.
    Bounds are wide enough for any real link, narrow enough to refuse a forgery by name."""

    rtt_ms: _Ms | None = Field(None, description="round trip to the hub (the ICE pair's)")
    loss_pct: _Percent | None = Field(None, description="the worse of loss_up and loss_down")
    loss_up_pct: _Percent | None = Field(None, description="lost on the way to the hub")
    loss_down_pct: _Percent | None = Field(None, description="lost on the way back")
    jitter_ms: _Ms | None = None
    video_fps: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)] | None = Field(
        None, description="frame rate of the site's own video as it came back"
    )
    video_width: _Pixels | None = None
    video_height: _Pixels | None = None
    audio_level: _Level | None = Field(None, description="level of the echoed audio, 0-1")
    mic_level: _Level | None = Field(None, description="the level meter's peak, 0-1")
    seconds: Annotated[float, Field(ge=0, le=120, allow_inf_nan=False)] | None = Field(
        None, description="how long media looped through the hub"
    )
    candidate_type: Literal["host", "srflx", "prflx", "relay"] | None = None


class SelfTestBody(Body):
    """A self-test's result, as its page scored it (the office and user are the caller's)."""

    score: Literal["good", "okay", "bad"]
    reasons: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=40)]],
        Field(max_length=20),
    ] = Field(default_factory=list, description="why it is not good (hub/domain/self_tests.py)")
    figures: SelfTestFigures = Field(default_factory=SelfTestFigures)

    @field_validator("figures", mode="wrap")
    @classmethod
    def _name_the_figure(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        # The edge names a body's top-level field only: say which figure is wrong.
        try:
            return handler(value)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "figures"
            raise ValueError(f"{where}: {first['msg']}") from None


class Query(BaseModel):
    """Base of query strings: values arrive as text, so conversion is allowed here."""

    model_config = ConfigDict(extra="forbid")


class Page(Query):
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0


class PetitionFilter(Page):
    type: PetitionType | None = None
    status: PetitionStatus | None = None
    office: Id | None = None
    crowd: bool | None = None
    text: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        None,
        description="words of the case (case code, national code, subject, respondent, "
        "content), each a word's prefix; never the petitioner's personal data unless "
        "personal=true",
    )
    personal: bool = Field(
        False,
        description="true: the text also matches the petitioner's name and address (word "
        "prefixes) and ID number (the whole number only). Each such search is audited (who, "
        "when, the text and filters, how many matched, even none) and its answer has no total "
        "(total is null; has_more says whether another page follows)",
    )
    received_from: date | None = None
    received_to: date | None = None
    due: Due | None = Field(
        None,
        description="overdue: received or accepted petitions past their handling deadline; "
        "week: those due today or in the six days after",
    )


class HearingFilter(Page):
    status: Literal["scheduled", "live", "ended", "cancelled"] | None = None
    office: Id | None = None
    starts_from: AwareDatetime | None = None
    starts_to: AwareDatetime | None = None


class AuditFilter(Page):
    petition_id: Id | None = None
    user_id: Id | None = None


class SearchAuditFilter(Page):
    user_id: Id | None = None


class OfficeFilter(Query):
    level: Annotated[str, StringConstraints(max_length=30)] | None = None
    bridge_only: bool = False


class UserFilter(Query):
    role: Literal["leader", "staff", "operator", "admin"] | None = Field(
        None, description="only users with this role (role=leader: the chair picker)"
    )
    office: Id | None = Field(
        None,
        description="only users of this office and the offices under it (the hearing's host "
        "office, for its chair); it must lie in the caller's scope",
    )


class AlertFilter(Page):
    open: bool | None = Field(
        None, description="true: only alerts still open; false: only closed ones; absent: all"
    )
    office: Id | None = Field(
        None,
        description="only alerts of this office and the offices under it; it must lie in the "
        "caller's scope",
    )
    hearing: Id | None = Field(None, description="only alerts raised during this hearing")
    kind: (
        Literal[
            "site_offline",
            "site_degraded",
            "media_device_missing",
            "self_test_failed",
            "site_not_connected_at_start",
        ]
        | None
    ) = None


class LinkReportQuery(Query):
    graph: bool = Field(True, description="false: leave the 24-hour series out (the board)")


class SelfTestFilter(Page):
    office_id: Id | None = Field(
        None, description="only this office's results; it must lie in the caller's scope"
    )
    latest: bool = Field(False, description="true: only each office's last result")


class CalendarDayFilter(Query):
    year: Annotated[int, Field(ge=2000, le=2100)] | None = None


class DueCountFilter(Query):
    office: Id | None = Field(
        None, description="only this office and those under it; it must lie in your scope"
    )
    within_days: Annotated[int, Field(ge=1, le=366)] = Field(
        7, description="due_within counts deadlines from today to this many days ahead"
    )


class ReportQuery(Query):
    office_id: Id | None = Field(
        None,
        description="the office whose subtree the report covers (default: the caller's own); "
        "it must lie in the caller's scope",
    )
    period: Annotated[str, StringConstraints(max_length=10)] = Field(
        description="a month 2026-11, a quarter 2026-Q4 or a year 2026 (Vietnam's time)"
    )

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        try:
            return str(Period.parse(value))
        except ValidationFailed:
            raise ValueError(f"expected {PERIOD_HINT}") from None


class NationalExportQuery(Query):
    office_id: Id | None = Field(
        None, description="the office whose subtree is exported (default: the caller's own)"
    )
    since: date | None = Field(None, description="only rows changed from this day on")


class NationalImportBody(Body):
    """A national-format JSON document (docs/export-format.md). Its rows are checked one by one
    on import, each refused row reported with its reasons, so they are taken as objects here."""

    format: Literal["tcd-hub-national"]
    version: Literal[1]
    exported_at: str | None = None
    office: str | None = None
    since: str | None = None
    petitions: Annotated[list[dict[str, Any]], Field(max_length=50_000)] = Field(
        default_factory=list
    )
    reception_register: Annotated[list[dict[str, Any]], Field(max_length=50_000)] = Field(
        default_factory=list
    )


class DelegationBody(Body):
    """A crowd delegation as registered (hub.domain.delegations.DelegationDraft)."""

    receiving_office_id: Id = Field(description="the office that received the crowd")
    home_office_id: Id = Field(description="the office whose area the crowd comes from")
    received_on: date
    people_count: Annotated[int, Field(ge=1, le=100000)]
    representatives: Annotated[list[Text300], Field(max_length=50)] = []
    matter: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    subject_field: Text300 = ""
    petition_ids: Annotated[list[Id], Field(max_length=200)] = []
    note: Annotated[str, StringConstraints(max_length=5000)] = ""


class DelegationPatch(Body):
    status: Literal["handling", "closed"]


class DelegationHearingBody(Body):
    """The joint hearing opened from a delegation: every field may be left out (a title naming
    the home office, from now for 2 hours, chaired by the leader opening it, started at once)."""

    title: Text300 | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    chair_user_id: Id | None = None
    start: bool = Field(True, description="false: scheduled only, started later")


_Statuses = Annotated[
    str, StringConstraints(pattern=r"^(open|handling|closed)(,(open|handling|closed))*$")
]


class DelegationFilter(Page):
    status: _Statuses | None = Field(
        None, description="comma-separated: open, handling, closed (e.g. open,handling)"
    )
    home_office: Id | None = Field(
        None, description="only delegations from this office's area (it and the offices under it)"
    )
    received_from: date | None = None
    received_to: date | None = None


class DelegationBoardQuery(Query):
    received_from: date | None = Field(None, description="only delegations received since then")


class HomeSuggestionQuery(Query):
    petitions: (
        Annotated[str, StringConstraints(pattern=r"^[0-9]{1,10}(,[0-9]{1,10}){0,199}$")] | None
    ) = Field(
        None, description="comma-separated petition ids whose petitioners' addresses are read"
    )
    address: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = Field(
        None, description="an address typed in (e.g. a representative's)"
    )

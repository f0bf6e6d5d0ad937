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

from hub.domain.errors import ValidationFailed
from hub.domain.guests import AgencyKind
from hub.domain.hearings import HearingKind
from hub.domain.petitions import PetitionStatus, PetitionType, Source

Text300 = Annotated[str, StringConstraints(max_length=300)]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]

# Every {placeholder} of an API path, by name (the registry refuses a route with another).
# Ids are 32-bit on PostgreSQL; hub.api.edge.path_id answers 404 for anything else.
PATH_PARAMS: dict[str, Any] = {
    "id": Annotated[int, Field(ge=1, le=2**31 - 1, description="the record's id")],
    "petition_id": Annotated[int, Field(ge=1, le=2**31 - 1, description="a petition's id")],
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

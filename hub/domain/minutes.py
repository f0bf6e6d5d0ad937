"""The minutes (biên bản) of a hearing: their content, drafted from the session log, the rules
of an edit, and sign-off (after which they are read-only).

The minutes are an official Vietnamese document, so their own words are Vietnamese whatever the
reader's language; the pages around them are translated as usual."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from hub.domain.errors import Conflict, ValidationFailed
from hub.domain.sessionlog import LogKind

# The number is left as dots until sign-off assigns it (as a document is numbered when it is
# entered in the outgoing register, not while it is drafted).
UNNUMBERED = "..."
MAX_PETITIONS = 200
MAX_PEOPLE = 200
_TEXT = 300
_LONG = 20_000


class MinutesStatus(enum.StrEnum):
    """A draft staff edit, or minutes a leader signed off (read-only from then on)."""

    DRAFT = "draft"
    SIGNED = "signed"


# What the petition's handling state says in the minutes ("hướng xử lý").
HANDLING: dict[str, str] = {
    "received": "Tiếp nhận đơn, phân loại và xử lý theo quy định",
    "accepted": "Thụ lý giải quyết theo thẩm quyền",
    "transferred": "Chuyển đơn đến cơ quan có thẩm quyền giải quyết",
    "returned": "Trả lại đơn và hướng dẫn công dân gửi đến cơ quan có thẩm quyền",
    "filed": "Lưu đơn",
    "suspended": "Tạm đình chỉ việc giải quyết",
    "resolved": "Đã giải quyết",
}

PETITION_TYPES: dict[str, str] = {
    "complaint": "Khiếu nại",
    "denunciation": "Tố cáo",
    "recommendation": "Kiến nghị",
    "feedback": "Phản ánh",
    "mixed": "Nhiều nội dung",
}


@dataclass(frozen=True)
class HeardPetition:
    """One petition heard in the hearing, as the minutes record it."""

    petition_id: int
    case_code: str
    petitioner: str
    summary: str
    heard_from: datetime | None
    heard_to: datetime | None
    handling: str
    notes: str = ""


@dataclass(frozen=True)
class MinutesContent:
    """Everything the minutes say, checked on construction (ValidationFailed names the field,
    e.g. petitions.1.heard_to)."""

    number: str
    parent_body: str
    issuing_body: str
    # The host office's name as a sentence writes it ("Ban Tiếp công dân tỉnh Hưng Yên").
    host_office: str
    place_name: str
    title: str
    opened_at: datetime
    closed_at: datetime | None
    location: str
    chair: str
    recorder: str
    participants: tuple[str, ...]
    sites: tuple[str, ...]
    absent_sites: tuple[str, ...]
    petitions: tuple[HeardPetition, ...]
    notes: str = ""
    conclusion: str = ""

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        for name in ("number", "issuing_body", "host_office", "place_name", "title", "chair"):
            value = getattr(self, name)
            if not value.strip() or len(value) > _TEXT:
                errors[name] = f"must be 1-{_TEXT} characters"
        for name in ("parent_body", "location", "recorder"):
            if len(getattr(self, name)) > _TEXT:
                errors[name] = f"at most {_TEXT} characters"
        for name in ("notes", "conclusion"):
            if len(getattr(self, name)) > _LONG:
                errors[name] = f"at most {_LONG} characters"
        if self.opened_at.tzinfo is None:
            errors["opened_at"] = "must carry a UTC offset"
        if self.closed_at is not None:
            if self.closed_at.tzinfo is None:
                errors["closed_at"] = "must carry a UTC offset"
            elif self.opened_at.tzinfo is not None and self.closed_at < self.opened_at:
                errors["closed_at"] = "must not be before opened_at"
        for name in ("participants", "sites", "absent_sites"):
            names: tuple[str, ...] = getattr(self, name)
            if len(names) > MAX_PEOPLE:
                errors[name] = f"at most {MAX_PEOPLE} entries"
            for i, one in enumerate(names):
                if not one.strip() or len(one) > _TEXT:
                    errors[f"{name}.{i}"] = f"must be 1-{_TEXT} characters"
        if len(self.petitions) > MAX_PETITIONS:
            errors["petitions"] = f"at most {MAX_PETITIONS} petitions"
        seen: set[int] = set()
        for i, p in enumerate(self.petitions):
            errors.update(_petition_errors(f"petitions.{i}", p))
            if p.petition_id in seen:
                errors[f"petitions.{i}.petition_id"] = "lists a petition twice"
            seen.add(p.petition_id)
        if errors:
            first = next(iter(errors.items()))
            raise ValidationFailed(f"invalid minutes: {first[0]} {first[1]}", errors)


def _petition_errors(where: str, p: HeardPetition) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name in ("case_code", "petitioner", "handling"):
        value = getattr(p, name)
        if not value.strip() or len(value) > _TEXT:
            errors[f"{where}.{name}"] = f"must be 1-{_TEXT} characters"
    for name in ("summary", "notes"):
        if len(getattr(p, name)) > _LONG:
            errors[f"{where}.{name}"] = f"at most {_LONG} characters"
    for name in ("heard_from", "heard_to"):
        moment = getattr(p, name)
        if moment is not None and moment.tzinfo is None:
            errors[f"{where}.{name}"] = "must carry a UTC offset"
    if p.heard_to is not None:
        if p.heard_from is None:
            errors[f"{where}.heard_to"] = "set heard_from before heard_to"
        elif p.heard_from.tzinfo and p.heard_to.tzinfo and p.heard_to < p.heard_from:
            errors[f"{where}.heard_to"] = "must not be before heard_from"
    return errors


def check_editable(status: str, signed_by: str | None, signed_at: str | None) -> None:
    """Conflict, saying who signed and when, for any change to signed-off minutes."""
    if status == MinutesStatus.SIGNED:
        raise Conflict(
            f"the minutes were signed off by {signed_by or 'a leader'} at {signed_at} and are "
            "read-only; nothing was changed",
            {"status": "signed"},
        )


def check_version(current: int, sent: int, updated_by: str | None, updated_at: str | None) -> None:
    """Conflict when the editor's copy is not the latest (optimistic concurrency): two editors
    never overwrite each other silently."""
    if sent != current:
        who = f" by {updated_by} at {updated_at}" if updated_by else ""
        raise Conflict(
            f"the minutes were changed{who} since you opened them (you sent version {sent}, "
            f"the latest is {current}); reload them and make your change again",
            {"version": f"stale: the latest is {current}"},
        )


def numbered(number: str, sequence: int) -> str:
    """The number with the sequence put in for its dots ('.../BB-TW' -> '12/BB-TW'); a number
    staff already wrote in stays as it is."""
    if number.startswith(UNNUMBERED):
        return f"{sequence}{number[len(UNNUMBERED) :]}"
    return number


def symbol_for(office_code: str) -> str:
    """The document number with its symbol, before sign-off: '.../BB-TW' (BB: biên bản;
    the office's own abbreviation after it, dots of a sub-office's code dropped)."""
    return f"{UNNUMBERED}/BB-{office_code.split('.')[-1].upper()}"


_PLACE_PREFIXES = (
    "thành phố ",
    "thị trấn ",
    "thị xã ",
    "tỉnh ",
    "huyện ",
    "quận ",
    "phường ",
    "xã ",
)


def place_name(office_name: str) -> str:
    """The place in the date line (địa danh): 'Hà Nội' for 'Trụ sở ... (Hà Nội)', 'Hưng Yên'
    for 'Ban Tiếp công dân tỉnh Hưng Yên', 'Tân Sơn' for 'Xã Tân Sơn'. Staff may change it."""
    paren = re.search(r"\(([^()]+)\)\s*$", office_name)
    if paren:
        return paren.group(1).strip()
    lowered = office_name.lower()
    best = -1
    for prefix in _PLACE_PREFIXES:
        at = lowered.rfind(prefix)
        if at >= 0 and (at == 0 or lowered[at - 1] == " "):
            best = max(best, at + len(prefix))
    return office_name[best:].strip() if best >= 0 else office_name.strip()


def plain_name(office_name: str) -> str:
    """An office's name without a trailing place note: 'Trụ sở Tiếp công dân Trung ương'."""
    return re.sub(r"\s*\([^()]*\)\s*$", "", office_name).strip()


def body_name(office_name: str) -> str:
    """An office's name as a document's issuing body shows it: upper case, no place note."""
    return plain_name(office_name).upper()


# --- drafting from the log --------------------------------------------------------------------


@dataclass(frozen=True)
class HearingFacts:
    """What drafting needs of the hearing itself (the service reads it)."""

    title: str
    host_name: str
    host_code: str
    parent_name: str
    location: str
    chair_name: str
    starts_at: datetime
    ends_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    invited_sites: tuple[tuple[int, str], ...]
    free_text: str = ""


@dataclass(frozen=True)
class PetitionFacts:
    """What drafting needs of one linked petition (the petitioner's name only when the drafter
    may read it)."""

    petition_id: int
    case_code: str
    petitioner: str
    type: str
    subject_field: str
    content: str
    status: str
    competent_body: str
    heard_from: datetime | None
    heard_to: datetime | None


@dataclass(frozen=True)
class LogEntry:
    """One session-log event as drafting reads it."""

    kind: str
    at: datetime
    user_name: str | None = None
    office_id: int | None = None
    office_name: str | None = None
    petition_id: int | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


def handling_of(status: str, competent_body: str) -> str:
    """The handling decided for a petition, in the minutes' words."""
    text = HANDLING.get(status, HANDLING["received"])
    if status == "transferred" and competent_body.strip():
        return f"Chuyển đơn đến {competent_body.strip()}"
    return text


def _summary(p: PetitionFacts) -> str:
    kind = PETITION_TYPES.get(p.type, p.type)
    subject = f" (lĩnh vực {p.subject_field.strip()})" if p.subject_field.strip() else ""
    return f"{kind}{subject}: {p.content.strip()}"


def _unique(names: Iterable[str | None]) -> tuple[str, ...]:
    out: list[str] = []
    for name in names:
        if name and name.strip() and name.strip() not in out:
            out.append(name.strip())
    return tuple(out)


def draft(
    hearing: HearingFacts,
    log: Sequence[LogEntry],
    heard: Sequence[PetitionFacts],
    recorder: str,
) -> MinutesContent:
    """The minutes as the session log tells them: opened and closed when the hearing started
    and ended (else its schedule), the chair, everyone who joined or acted in it, the sites
    that connected (and those invited that never did), each petition heard with its times
    (those of its link, else of the log's last petition_heard entry for it) and the handling
    decided, in the order heard, and the notes."""
    started = next((e.at for e in log if e.kind == LogKind.STARTED), hearing.started_at)
    ended = next((e.at for e in reversed(log) if e.kind == LogKind.ENDED), hearing.ended_at)
    joined = [e for e in log if e.kind == LogKind.PARTICIPANT_JOINED]
    acting = {
        LogKind.STARTED,
        LogKind.ENDED,
        LogKind.PARTICIPANT_JOINED,
        LogKind.PETITION_HEARD,
        LogKind.NOTE,
    }
    participants = _unique(
        [e.user_name for e in log if e.kind in acting and e.user_name != hearing.chair_name]
    )
    connected_ids = {e.office_id for e in joined if e.office_id is not None}
    sites = _unique([hearing.host_name, *(e.office_name for e in joined)])
    absent = _unique(name for oid, name in hearing.invited_sites if oid not in connected_ids)
    times: dict[int, tuple[datetime | None, datetime | None]] = {}
    for e in log:
        if e.kind == LogKind.PETITION_HEARD and e.petition_id is not None:
            times[e.petition_id] = (
                _parse(e.detail.get("heard_from")),
                _parse(e.detail.get("heard_to")),
            )
    petitions = []

    def order(p: PetitionFacts) -> tuple[bool, float, str]:
        return (
            p.heard_from is None,
            p.heard_from.timestamp() if p.heard_from else 0.0,
            p.case_code,
        )

    for p in sorted(heard, key=order):
        start, end = times.get(p.petition_id, (p.heard_from, p.heard_to))
        petitions.append(
            HeardPetition(
                petition_id=p.petition_id,
                case_code=p.case_code,
                petitioner=p.petitioner,
                summary=_summary(p),
                heard_from=p.heard_from or start,
                heard_to=p.heard_to or end,
                handling=handling_of(p.status, p.competent_body),
            )
        )
    notes = [str(e.detail.get("text", "")).strip() for e in log if e.kind == LogKind.NOTE]
    if hearing.free_text.strip():
        notes.append(hearing.free_text.strip())
    return MinutesContent(
        number=symbol_for(hearing.host_code),
        parent_body=body_name(hearing.parent_name) if hearing.parent_name else "",
        issuing_body=body_name(hearing.host_name),
        host_office=plain_name(hearing.host_name),
        place_name=place_name(hearing.host_name),
        title=hearing.title.strip()[:_TEXT],
        opened_at=started or hearing.starts_at,
        closed_at=ended,
        location=hearing.location.strip()[:_TEXT],
        chair=hearing.chair_name or "(chưa ghi)",
        recorder=recorder[:_TEXT],
        participants=participants[:MAX_PEOPLE],
        sites=sites[:MAX_PEOPLE],
        absent_sites=absent[:MAX_PEOPLE],
        petitions=tuple(petitions[:MAX_PETITIONS]),
        notes="\n".join(n for n in notes if n)[:_LONG],
    )


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


# --- the stored form (JSON) -------------------------------------------------------------------


def to_json(content: MinutesContent, tz: tzinfo | None = None) -> dict[str, Any]:
    """The content as stored and as the API sends it (times as ISO 8601 text, in `tz` when
    given: the offices' own time)."""

    def _iso(value: datetime | None) -> str | None:
        if value is None:
            return None
        return (value.astimezone(tz) if tz is not None else value).isoformat()

    return {
        "number": content.number,
        "parent_body": content.parent_body,
        "issuing_body": content.issuing_body,
        "host_office": content.host_office,
        "place_name": content.place_name,
        "title": content.title,
        "opened_at": _iso(content.opened_at),
        "closed_at": _iso(content.closed_at),
        "location": content.location,
        "chair": content.chair,
        "recorder": content.recorder,
        "participants": list(content.participants),
        "sites": list(content.sites),
        "absent_sites": list(content.absent_sites),
        "petitions": [
            {
                "petition_id": p.petition_id,
                "case_code": p.case_code,
                "petitioner": p.petitioner,
                "summary": p.summary,
                "heard_from": _iso(p.heard_from),
                "heard_to": _iso(p.heard_to),
                "handling": p.handling,
                "notes": p.notes,
            }
            for p in content.petitions
        ],
        "notes": content.notes,
        "conclusion": content.conclusion,
    }


def from_json(data: Mapping[str, Any]) -> MinutesContent:
    """Stored (or validated) JSON back into content; the constructor checks the rules."""
    return MinutesContent(
        number=data["number"],
        parent_body=data.get("parent_body", ""),
        issuing_body=data["issuing_body"],
        host_office=data["host_office"],
        place_name=data["place_name"],
        title=data["title"],
        opened_at=_moment(data["opened_at"]),
        closed_at=_optional(data.get("closed_at")),
        location=data.get("location", ""),
        chair=data["chair"],
        recorder=data.get("recorder", ""),
        participants=tuple(data.get("participants", ())),
        sites=tuple(data.get("sites", ())),
        absent_sites=tuple(data.get("absent_sites", ())),
        petitions=tuple(
            HeardPetition(
                petition_id=int(p["petition_id"]),
                case_code=p["case_code"],
                petitioner=p["petitioner"],
                summary=p.get("summary", ""),
                heard_from=_optional(p.get("heard_from")),
                heard_to=_optional(p.get("heard_to")),
                handling=p["handling"],
                notes=p.get("notes", ""),
            )
            for p in data.get("petitions", ())
        ),
        notes=data.get("notes", ""),
        conclusion=data.get("conclusion", ""),
    )


def _moment(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _optional(value: datetime | str | None) -> datetime | None:
    return None if value is None or value == "" else _moment(value)

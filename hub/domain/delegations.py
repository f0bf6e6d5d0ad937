"""Crowd delegations (đoàn đông người): a crowd received at an office, the home office it comes
from, its visit number, whether it went past its own level (vượt cấp), and the home office
suggested from the petitioners' addresses."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from hub.domain.errors import Conflict, ValidationFailed
from hub.domain.petitions import fold, max_representatives

# Two visits of the same matter from the same home office this close together are one case
# coming back, not two cases: the later one is visit 2, then 3, ...
REPEAT_WINDOW = timedelta(days=90)
# A crowd (đông người) is 5 people or more on one matter (hub.domain.petitions).
MIN_PEOPLE = 5


class DelegationStatus(enum.StrEnum):
    """Open (received, nobody on it yet), being handled, closed."""

    OPEN = "open"
    HANDLING = "handling"
    CLOSED = "closed"


_TRANSITIONS: dict[DelegationStatus, frozenset[DelegationStatus]] = {
    DelegationStatus.OPEN: frozenset({DelegationStatus.HANDLING, DelegationStatus.CLOSED}),
    DelegationStatus.HANDLING: frozenset({DelegationStatus.CLOSED}),
    DelegationStatus.CLOSED: frozenset(),
}


def check_transition(current: DelegationStatus, target: DelegationStatus) -> None:
    """Raise Conflict naming both states when the delegation cannot move to `target`."""
    if target not in _TRANSITIONS[current]:
        allowed = ", ".join(sorted(_TRANSITIONS[current])) or "none (closed)"
        raise Conflict(
            f"a delegation that is {current} cannot become {target}; allowed: {allowed}",
            {"status": f"{current} -> {target} is not allowed"},
        )


@dataclass(frozen=True)
class DelegationDraft:
    """A delegation as registered, checked on construction."""

    receiving_office_id: int
    home_office_id: int
    received_on: date
    people_count: int
    matter: str
    representatives: tuple[str, ...] = ()
    subject_field: str = ""
    petition_ids: tuple[int, ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        if self.people_count < MIN_PEOPLE or self.people_count > 100000:
            errors["people_count"] = (
                f"a delegation (đoàn đông người) has {MIN_PEOPLE} to 100000 people"
            )
        elif len(self.representatives) > max_representatives(self.people_count):
            errors["representatives"] = (
                f"{self.people_count} people choose at most "
                f"{max_representatives(self.people_count)} representatives"
            )
        if any(not name.strip() or len(name) > 200 for name in self.representatives):
            errors.setdefault("representatives", "each name must be 1-200 characters")
        if not self.matter.strip():
            errors["matter"] = "must not be empty"
        elif len(self.matter) > 5000:
            errors["matter"] = "at most 5000 characters"
        if len(self.subject_field) > 300:
            errors["subject_field"] = "at most 300 characters"
        if len(set(self.petition_ids)) != len(self.petition_ids):
            errors["petition_ids"] = "a petition is listed twice"
        if len(self.note) > 5000:
            errors["note"] = "at most 5000 characters"
        if errors:
            raise ValidationFailed("invalid delegation", errors)


def matter_key(matter: str) -> str:
    """The matter as repeat visits compare it: folded, words only ('Thu hồi đất, Văn Lâm!' and
    'thu hoi dat van lam' are the same matter)."""
    return " ".join(re.findall(r"[a-z0-9]+", fold(matter)))[:500]


@dataclass(frozen=True)
class EarlierVisit:
    """A delegation from the same home office registered before (what repeat counting reads)."""

    received_on: date
    matter_key: str
    petition_ids: frozenset[int]
    number: int = 1


def visit_number(
    received_on: date, key: str, petition_ids: Iterable[int], earlier: Sequence[EarlierVisit]
) -> int:
    """The visit's number: one more than the highest-numbered earlier visit from the same home
    office within REPEAT_WINDOW before it (or on the same day) that was about the same matter
    or brought one of the same petitions; 1 when there is none. A chain counts on: a visit
    whose matter was written anew but brought the last visit's petition is the next one."""
    brought = frozenset(petition_ids)
    same = [
        v.number
        for v in earlier
        if received_on - REPEAT_WINDOW <= v.received_on <= received_on
        and (v.matter_key == key or v.petition_ids & brought)
    ]
    return 1 + max(same, default=0)


def path_ids(path: str) -> list[int]:
    """The office ids along a materialised path ('/1/5/12/' -> [1, 5, 12])."""
    return [int(part) for part in path.strip("/").split("/") if part.isdigit()]


def skipped_level(receiving_path: str, home_path: str) -> bool:
    """Vượt cấp: received by an office above the home office (its ancestor), not by the home
    office itself nor by an office elsewhere in the tree."""
    return receiving_path != home_path and home_path.startswith(receiving_path)


def province_path(home_path: str) -> str:
    """The path of the province a home office lies in (the office at depth 1 on its path); the
    central office's own path for the central office."""
    ids = path_ids(home_path)
    return "/" + "/".join(str(i) for i in ids[:2]) + "/"


# --- the home office from the petitioners' addresses ------------------------------------------

# What an office's name says before its place: "Ban Tiếp công dân tỉnh Hưng Yên" -> "hung yen".
_BOARD_WORDS = ("ban tiep cong dan", "tru so tiep cong dan", "uy ban nhan dan", "ubnd")
_UNIT_WORDS = (
    "thanh pho",
    "thi xa",
    "thi tran",
    "dac khu",
    "tinh",
    "huyen",
    "quan",
    "xa",
    "phuong",
)


def place_name(office_name: str) -> str:
    """The folded place an office is named after, or "" when its name carries none."""
    words = " ".join(re.findall(r"[a-z0-9]+", fold(re.sub(r"\(.*?\)", " ", office_name))))
    for board in _BOARD_WORDS:
        if words.startswith(board + " ") or words == board:
            words = words[len(board) :].strip()
            break
    for unit in _UNIT_WORDS:
        if words.startswith(unit + " "):
            return words[len(unit) :].strip()
    return words


@dataclass(frozen=True)
class PlaceOffice:
    """An office a suggestion may name: its id, path and level."""

    id: int
    name: str
    path: str
    level: str


@dataclass(frozen=True)
class HomeCandidate:
    """An office suggested as the home office, and how many addresses lie in its area."""

    office_id: int
    name: str
    addresses: int


@dataclass(frozen=True)
class HomeSuggestion:
    """The suggested home office (None when no address names an office's place), the
    candidates best first, and how many of the addresses named any place at all."""

    office_id: int | None
    candidates: tuple[HomeCandidate, ...]
    matched: int
    addresses: int


def _names_place(folded_address: str, place: str) -> bool:
    return bool(place) and f" {place} " in f" {folded_address} "


def address_office(address: str, offices: Sequence[PlaceOffice]) -> PlaceOffice | None:
    """The office whose area an address lies in: of the offices whose place the address names,
    the deepest one whose named ancestors agree (a commune called like one in another province
    loses to the commune under the province the address also names)."""
    folded = " ".join(re.findall(r"[a-z0-9]+", fold(address)))
    named = [
        o for o in offices if o.level != "central" and _names_place(folded, place_name(o.name))
    ]
    if not named:
        return None
    named_ids = {o.id for o in named}

    def support(office: PlaceOffice) -> tuple[int, int]:
        # How many of its ancestors the address names too, then how deep it is.
        ancestors = path_ids(office.path)[:-1]
        return (sum(1 for i in ancestors if i in named_ids), len(ancestors))

    best = max(named, key=lambda o: (support(o), -o.id))
    return best


def suggest_home(addresses: Sequence[str], offices: Sequence[PlaceOffice]) -> HomeSuggestion:
    """The home office of a delegation from its petitioners' addresses: each address's office
    (address_office), then the deepest office (below the central office) whose area holds more
    than half of the addresses that named a place. Candidates: every office on those addresses'
    paths, by how many addresses it holds, then deepest first."""
    by_id = {o.id: o for o in offices}
    found = [o for o in (address_office(a, offices) for a in addresses if a.strip()) if o]
    counts: dict[int, int] = {}
    for office in found:
        for office_id in path_ids(office.path):
            if office_id in by_id and by_id[office_id].level != "central":
                counts[office_id] = counts.get(office_id, 0) + 1
    ranked = sorted(
        counts, key=lambda i: (-counts[i], -len(path_ids(by_id[i].path)), by_id[i].path)
    )
    candidates = tuple(HomeCandidate(i, by_id[i].name, counts[i]) for i in ranked)
    majority = [i for i in ranked if counts[i] * 2 > len(found)]
    chosen = max(majority, key=lambda i: len(path_ids(by_id[i].path))) if majority else None
    return HomeSuggestion(chosen, candidates, len(found), len([a for a in addresses if a.strip()]))

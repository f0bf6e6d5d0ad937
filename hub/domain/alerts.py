"""Connectivity alerts: what operators are told about a site, and when a degraded link has
lasted long enough to tell them."""

from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass, field
from typing import Any

from hub.domain.errors import ValidationFailed
from hub.domain.link_grade import Grade


class AlertKind(enum.StrEnum):
    """Every condition an alert stands for; each clears by itself when the condition ends."""

    # A site's bridge point went away (its socket and media are gone).
    SITE_OFFLINE = "site_offline"
    # Graded poor or bad for longer than Settings.alert_degraded_seconds.
    SITE_DEGRADED = "site_degraded"
    # A camera or microphone missing, or blocked by the browser's permission.
    MEDIA_DEVICE_MISSING = "media_device_missing"
    # The site's self-test scored bad.
    SELF_TEST_FAILED = "self_test_failed"
    # An invited site not connected when its hearing started (and again a few minutes in).
    SITE_NOT_CONNECTED_AT_START = "site_not_connected_at_start"


# Kinds that only make sense within a hearing.
NEEDS_HEARING = frozenset({AlertKind.SITE_NOT_CONNECTED_AT_START})
# An alert's detail is small: a few figures and words, not a report.
MAX_DETAIL_BYTES = 4096


@dataclass(frozen=True)
class AlertDraft:
    """An alert to open, checked on construction."""

    kind: AlertKind
    office_id: int
    hearing_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        try:
            AlertKind(self.kind)
        except ValueError:
            errors["kind"] = f"must be one of {', '.join(k.value for k in AlertKind)}"
        if isinstance(self.office_id, bool) or not isinstance(self.office_id, int):
            errors["office_id"] = "must be an office id"
        elif self.office_id < 1:
            errors["office_id"] = "must be an office id"
        if self.hearing_id is not None and (
            isinstance(self.hearing_id, bool)
            or not isinstance(self.hearing_id, int)
            or self.hearing_id < 1
        ):
            errors["hearing_id"] = "must be a hearing id or none"
        if self.kind in NEEDS_HEARING and self.hearing_id is None:
            errors["hearing_id"] = f"a {self.kind} alert belongs to a hearing"
        try:
            size = len(json.dumps(self.detail, allow_nan=False).encode())
        except (TypeError, ValueError):
            errors["detail"] = "must be plain JSON (text, numbers, lists, objects)"
        else:
            if not isinstance(self.detail, dict):
                errors["detail"] = "must be an object"
            elif size > MAX_DETAIL_BYTES:
                errors["detail"] = f"must be at most {MAX_DETAIL_BYTES} bytes of JSON"
        if errors:
            first = next(iter(errors.items()))
            raise ValidationFailed(f"invalid alert: {first[0]} {first[1]}", errors)

    @property
    def open_key(self) -> str:
        """What makes an open alert unique: one per kind, office and hearing."""
        return open_key(self.kind, self.office_id, self.hearing_id)


def open_key(kind: AlertKind | str, office_id: int, hearing_id: int | None) -> str:
    """'<kind>:<office id>:<hearing id or 0>', the open alerts' unique key."""
    return f"{AlertKind(kind)}:{office_id}:{hearing_id or 0}"


class Verdict(enum.StrEnum):
    """What DegradedWatch says about an office after a new grade."""

    OPEN = "open"  # degraded long enough: open site_degraded
    CLOSE = "close"  # good again: close it
    NONE = "none"  # nothing to do


@dataclass
class _Spell:
    since: float
    worst: Grade
    opened: bool = False


class DegradedWatch:
    """Turns every site's stream of grades into open and close verdicts for site_degraded:
    open once a site has been poor or bad for `after` seconds without a good grade between,
    close at its first good grade after that. An unknown grade (no figures) neither starts nor
    ends a spell: a site that stops sending is site_offline's business."""

    def __init__(self, after: float) -> None:
        if not (math.isfinite(after) and after > 0):
            raise ValidationFailed(
                f"invalid degraded delay: {after} (seconds, more than 0)", {"after": "positive"}
            )
        self.after = after
        self._spells: dict[tuple[int, int | None], _Spell] = {}

    def grade(
        self, office_id: int, grade: Grade, at: float, hearing_id: int | None = None
    ) -> Verdict:
        """A new grade of an office (in a hearing, or not) measured at `at` (seconds)."""
        key = (office_id, hearing_id)
        spell = self._spells.get(key)
        if grade is Grade.UNKNOWN:
            return Verdict.NONE
        if grade is Grade.GOOD:
            self._spells.pop(key, None)
            return Verdict.CLOSE if spell is not None and spell.opened else Verdict.NONE
        if spell is None:
            spell = self._spells[key] = _Spell(at, grade)
        if grade.severity > spell.worst.severity:
            spell.worst = grade
        if not spell.opened and at - spell.since >= self.after:
            spell.opened = True
            return Verdict.OPEN
        return Verdict.NONE

    def since(self, office_id: int, hearing_id: int | None = None) -> float | None:
        """When the office's current poor-or-bad spell began, if it is in one."""
        spell = self._spells.get((office_id, hearing_id))
        return spell.since if spell is not None else None

    def worst(self, office_id: int, hearing_id: int | None = None) -> Grade | None:
        """The worst grade of the office's current spell."""
        spell = self._spells.get((office_id, hearing_id))
        return spell.worst if spell is not None else None

    def forget(self, office_id: int, hearing_id: int | None = None) -> bool:
        """The office left (offline, out of the hearing): drop its spell; whether an alert was
        open for it (the caller closes it)."""
        spell = self._spells.pop((office_id, hearing_id), None)
        return spell is not None and spell.opened

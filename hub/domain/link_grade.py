"""A site's link, measured from both ends, and its grade (good / poor / bad) with the reasons.

The grade follows HMCTS video hearings: recent packet loss under 10 % is good, 10-15 % poor,
15 % or more bad; round trip and jitter have bounds of their own (GradeThresholds). "Recent" is
the median over the last few samples (a window of 3 at 2-5 s a sample is 6-15 s), so one bad
sample among three never changes the grade: two of three must agree.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from hub.domain.errors import ValidationFailed


class Grade(enum.StrEnum):
    """How well a site is connected; UNKNOWN while no figure has been measured."""

    GOOD = "good"
    POOR = "poor"
    BAD = "bad"
    UNKNOWN = "unknown"

    @property
    def severity(self) -> int:
        """0 good, 1 poor, 2 bad; -1 unknown (what the metrics export)."""
        return _SEVERITY[self]


_SEVERITY = {Grade.GOOD: 0, Grade.POOR: 1, Grade.BAD: 2, Grade.UNKNOWN: -1}

CANDIDATE_TYPES = frozenset({"host", "srflx", "prflx", "relay"})
# RTCOutboundRtpStreamStats.qualityLimitationReason.
LIMITATIONS = frozenset({"none", "cpu", "bandwidth", "other"})


@dataclass(frozen=True)
class LinkSample:
    """One measurement of a site's link. Every figure is optional: None where that end had
    nothing to go on (no media yet, an old browser, a site agent without getStats figures)."""

    # -- from the hub's peer connection (rooms.quality.Quality and the room's counters)
    # Round trip hub <-> site, ms.
    rtt_ms: float | None = None
    # Packets the site sent the hub that never arrived, % of those expected in the interval.
    loss_pct: float | None = None
    # Interarrival jitter of what the hub receives from the site, ms.
    jitter_ms: float | None = None
    # What the hub received from the site / sent to it, kbit/s.
    bitrate_in_kbps: float | None = None
    bitrate_out_kbps: float | None = None
    # Video frames a second the hub received from the site.
    fps: float | None = None
    # Keyframe requests (PLI/FIR) the hub sent the site in the interval.
    keyframe_requests: int | None = None
    # -- from the client (the browser's getStats)
    sent_width: int | None = None
    sent_height: int | None = None
    sent_fps: float | None = None
    quality_limitation: str | None = None
    candidate_type: str | None = None
    available_outgoing_kbps: float | None = None

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or f.name in ("quality_limitation", "candidate_type"):
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                errors[f.name] = "must be a number"
            elif not math.isfinite(value) or value < 0:
                errors[f.name] = "must be a finite number, 0 or more"
        if self.loss_pct is not None and "loss_pct" not in errors and self.loss_pct > 100:
            errors["loss_pct"] = "is a percentage: 0-100"
        if self.candidate_type is not None and self.candidate_type not in CANDIDATE_TYPES:
            errors["candidate_type"] = f"must be one of {', '.join(sorted(CANDIDATE_TYPES))}"
        if self.quality_limitation is not None and self.quality_limitation not in LIMITATIONS:
            errors["quality_limitation"] = f"must be one of {', '.join(sorted(LIMITATIONS))}"
        if errors:
            first = next(iter(errors.items()))
            raise ValidationFailed(f"invalid link sample: {first[0]} {first[1]}", errors)

    @classmethod
    def from_fields(cls, data: Mapping[str, Any]) -> LinkSample:
        """A sample from a mapping of its field names; unknown names are refused by name.
        `bitrate_kbps` (rooms.quality.Quality.as_dict) is read as bitrate_in_kbps."""
        known = {f.name for f in fields(cls)}
        values = dict(data)
        if "bitrate_kbps" in values and "bitrate_in_kbps" not in values:
            values["bitrate_in_kbps"] = values.pop("bitrate_kbps")
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValidationFailed(
                f"invalid link sample: unknown field {unknown[0]}",
                dict.fromkeys(unknown, "unknown field"),
            )
        return cls(**values)

    def merged(self, other: LinkSample) -> LinkSample:
        """This sample with the figures `other` has (e.g. the hub's with the client's)."""
        return LinkSample(
            **{
                f.name: getattr(other, f.name)
                if getattr(other, f.name) is not None
                else getattr(self, f.name)
                for f in fields(self)
            }
        )

    def as_dict(self) -> dict[str, Any]:
        """Only the figures that were measured (what history stores and the API sends)."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }


@dataclass(frozen=True)
class GradeThresholds:
    """Where a figure turns a link poor, and bad. Defaults and why:

    - loss 10 / 15 %: HMCTS video hearings' bounds (as the issue asks).
    - round trip 400 / 800 ms: ITU-T G.114 keeps one-way delay under 150 ms for easy talk and
      calls 400 ms one way the limit for planning; 400 ms round trip (200 ms each way) is where
      people start talking over each other, 800 ms (400 each way) where a hearing's exchange
      breaks down. A site on a satellite or a congested 4G link sits around 600-700.
    - jitter 30 / 50 ms: the usual bound for voice over IP is 30 ms; browsers' adaptive jitter
      buffers absorb up to about 50 ms at the cost of delay, beyond which audio breaks up.
    - window 3 samples: 6-15 s at the 2-5 s the figures arrive; the median of 3 ignores one
      outlier, and a real change shows within two samples.
    """

    loss_poor_pct: float = 10.0
    loss_bad_pct: float = 15.0
    rtt_poor_ms: float = 400.0
    rtt_bad_ms: float = 800.0
    jitter_poor_ms: float = 30.0
    jitter_bad_ms: float = 50.0
    window: int = 3

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        for name in ("loss", "rtt", "jitter"):
            poor, bad = (
                getattr(self, f"{name}_poor_{_UNIT[name]}"),
                getattr(self, f"{name}_bad_{_UNIT[name]}"),
            )
            if not (math.isfinite(poor) and math.isfinite(bad) and 0 < poor <= bad):
                errors[name] = f"needs 0 < poor <= bad, not poor {poor} and bad {bad}"
        if self.loss_bad_pct > 100 and "loss" not in errors:
            errors["loss"] = f"is a percentage: bad {self.loss_bad_pct} is over 100"
        if not 1 <= self.window <= 100:
            errors["window"] = f"must be 1-100 samples, not {self.window}"
        if errors:
            first = next(iter(errors.items()))
            raise ValidationFailed(f"invalid grade thresholds: {first[0]} {first[1]}", errors)


_UNIT = {"loss": "pct", "rtt": "ms", "jitter": "ms"}


@dataclass(frozen=True)
class Reason:
    """Why a link got its grade: which figure, its recent value and the bound it crossed.
    `code` is what a page translates: loss, rtt, jitter, no_media, limited_bandwidth,
    limited_cpu, relay (the last three are said, relay never lowers the grade)."""

    code: str
    grade: Grade
    value: float | None = None
    limit: float | None = None

    @property
    def text(self) -> str:
        """In English, for logs and alert details."""
        what = _TEXT[self.code]
        if self.value is None:
            return what
        return f"{what} {self.value:g} (bound {self.limit:g})"

    def as_dict(self) -> dict[str, Any]:
        """code, grade, value, limit, text."""
        return {
            "code": self.code,
            "grade": str(self.grade),
            "value": self.value,
            "limit": self.limit,
            "text": self.text,
        }


_TEXT = {
    "loss": "recent packet loss %",
    "rtt": "round trip ms",
    "jitter": "jitter ms",
    "no_media": "nothing received from the site",
    "limited_bandwidth": "the site's browser lowers its video for lack of bandwidth",
    "limited_cpu": "the site's browser lowers its video for lack of CPU",
    "relay": "media relayed through TURN",
}


@dataclass(frozen=True)
class LinkGrade:
    """A grade and every reason that contributed to it (worst first)."""

    grade: Grade
    reasons: tuple[Reason, ...] = ()
    samples: int = 0

    def as_dict(self) -> dict[str, Any]:
        """grade, reasons, samples (what site_status and the API carry)."""
        return {
            "grade": str(self.grade),
            "reasons": [r.as_dict() for r in self.reasons],
            "samples": self.samples,
        }


def grade(samples: Sequence[LinkSample], thresholds: GradeThresholds) -> LinkGrade:
    """Grade the last `thresholds.window` samples (oldest first). Loss, round trip and jitter
    are each the lower median of the window's figures; no media means every sample of the window
    that measured it received 0 kbit/s; the browser's own limitation counts when most of the
    window reports it (Chromium says "bandwidth" for a moment at every start)."""
    recent = list(samples[-thresholds.window :])
    reasons: list[Reason] = []
    measured = False
    for code, attr, poor, bad in (
        ("loss", "loss_pct", thresholds.loss_poor_pct, thresholds.loss_bad_pct),
        ("rtt", "rtt_ms", thresholds.rtt_poor_ms, thresholds.rtt_bad_ms),
        ("jitter", "jitter_ms", thresholds.jitter_poor_ms, thresholds.jitter_bad_ms),
    ):
        value = _median([getattr(s, attr) for s in recent])
        if value is None:
            continue
        measured = True
        if value >= bad:
            reasons.append(Reason(code, Grade.BAD, round(value, 1), bad))
        elif value >= poor:
            reasons.append(Reason(code, Grade.POOR, round(value, 1), poor))
    rates = [s.bitrate_in_kbps for s in recent if s.bitrate_in_kbps is not None]
    if rates:
        measured = True
        # A window of 1 sample may be a start-up moment; no media needs two figures.
        if len(rates) >= min(2, thresholds.window) and all(r == 0 for r in rates):
            reasons.append(Reason("no_media", Grade.BAD))
    limits = [s.quality_limitation for s in recent if s.quality_limitation is not None]
    for limitation in ("bandwidth", "cpu"):
        if limits and limits.count(limitation) * 2 > len(recent):
            reasons.append(Reason(f"limited_{limitation}", Grade.POOR))
    if recent and recent[-1].candidate_type == "relay":
        reasons.append(Reason("relay", Grade.GOOD))
    if not measured and not limits:
        return LinkGrade(Grade.UNKNOWN, tuple(reasons), len(recent))
    reasons.sort(key=lambda r: -r.grade.severity)
    worst = max((r.grade for r in reasons), key=lambda g: g.severity, default=Grade.GOOD)
    return LinkGrade(worst, tuple(reasons), len(recent))


def _median(values: Sequence[float | int | None]) -> float | None:
    """The lower median: the figure that more than half of the samples reach (of 3, two; of 2,
    both), so a single outlier never sets it."""
    present = sorted(float(v) for v in values if v is not None)
    if not present:
        return None
    return present[(len(present) - 1) // 2]

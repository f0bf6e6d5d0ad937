"""A site's self-test result: its score (good / okay / bad) and the reasons for it.

The page that runs the test (web/static/js/self-test.js) measures and scores; this module is
the one list of reasons and how much each weighs, so that a result whose score does not follow
from its reasons is refused rather than kept. The thresholds behind the figure-based reasons
are the page's, modelled on HMCTS's video-hearing grades (loss under 10 % good, 10-15 % poor,
15 % or more bad; round trip 400 / 800 ms) and named next to each reason below.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from hub.domain.errors import ValidationFailed


class Score(enum.StrEnum):
    """A self-test's verdict, worst last."""

    GOOD = "good"
    OKAY = "okay"
    BAD = "bad"


# Every reason a page may give, and the score it brings a result down to at least.
REASONS: dict[str, Score] = {
    # The devices. Blocked: the browser (or the user) refused permission; missing: no such
    # device; failed: it exists but would not start (busy, driver).
    "camera_blocked": Score.BAD,
    "camera_missing": Score.BAD,
    "camera_failed": Score.BAD,
    "microphone_blocked": Score.BAD,
    "microphone_missing": Score.BAD,
    "microphone_failed": Score.BAD,
    # The level meter never rose above silence during the test (a muted or unplugged mic).
    "microphone_silent": Score.OKAY,
    # The user said the test tone was not heard / did not answer before the end.
    "speaker_not_heard": Score.BAD,
    "speaker_unconfirmed": Score.OKAY,
    # The call through the hub: no connection at all, or nothing of a kind came back.
    "hub_unreachable": Score.BAD,
    "no_echo_video": Score.BAD,
    "no_echo_audio": Score.BAD,
    # Loss of the looped media: >= 15 % bad, >= 10 % okay.
    "loss_high": Score.BAD,
    "loss_elevated": Score.OKAY,
    # Round trip to the hub: >= 800 ms bad, >= 400 ms okay.
    "rtt_high": Score.BAD,
    "rtt_elevated": Score.OKAY,
    # The echoed video: under 10 frames per second, or under 120 lines.
    "fps_low": Score.OKAY,
    "resolution_low": Score.OKAY,
}

_RANK = {Score.GOOD: 0, Score.OKAY: 1, Score.BAD: 2}


def score_of(reasons: list[str] | tuple[str, ...]) -> Score:
    """The score a set of reasons makes: the worst of them, good when there is none."""
    worst = Score.GOOD
    for reason in reasons:
        weight = REASONS[reason]
        if _RANK[weight] > _RANK[worst]:
            worst = weight
    return worst


@dataclass(frozen=True)
class SelfTestDraft:
    """A result to keep, checked on construction (reasons known, score following from them)."""

    office_id: int
    user_id: int
    score: Score
    reasons: tuple[str, ...] = ()
    figures: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [r for r in self.reasons if r not in REASONS]
        if unknown:
            raise ValidationFailed(
                f"invalid reasons: unknown reason {unknown[0]!r}",
                {"reasons": f"must be among {', '.join(REASONS)}"},
            )
        if len(set(self.reasons)) != len(self.reasons):
            raise ValidationFailed(
                "invalid reasons: a reason is given twice", {"reasons": "must not repeat"}
            )
        expected = score_of(self.reasons)
        if Score(self.score) != expected:
            because = ", ".join(self.reasons) or "no reasons"
            raise ValidationFailed(
                f"invalid score: {self.score} does not follow from {because} (that is {expected})",
                {"score": f"must be {expected} for these reasons"},
            )

"""A site's link grade: HMCTS's loss bounds, round trip and jitter, over a short window."""

from __future__ import annotations

import math

import pytest

from hub.domain.errors import ValidationFailed
from hub.domain.link_grade import Grade, GradeThresholds, LinkSample, grade

T = GradeThresholds()


def losses(*values: float) -> list[LinkSample]:
    return [LinkSample(loss_pct=v, rtt_ms=40, jitter_ms=5, bitrate_in_kbps=900) for v in values]


@pytest.mark.parametrize(
    ("loss", "expected"),
    [(0.0, Grade.GOOD), (9.9, Grade.GOOD), (10.0, Grade.POOR), (14.9, Grade.POOR),
     (15.0, Grade.BAD), (40.0, Grade.BAD)],
)  # fmt: skip
def test_recent_loss_grades_as_hmcts_does(loss: float, expected: Grade) -> None:
    result = grade(losses(loss, loss, loss), T)
    assert result.grade is expected
    if expected is not Grade.GOOD:
        assert result.reasons[0].code == "loss"
        assert result.reasons[0].value == loss


def test_one_bad_sample_does_not_flip_the_grade_two_of_three_do() -> None:
    assert grade(losses(0, 0, 30), T).grade is Grade.GOOD
    assert grade(losses(0, 30, 0), T).grade is Grade.GOOD
    assert grade(losses(0, 30, 30), T).grade is Grade.BAD
    # Only the window counts: old bad samples are forgotten.
    assert grade(losses(30, 30, 30, 0, 0, 0), T).grade is Grade.GOOD


def test_twelve_percent_random_loss_measured_between_8_and_15_is_poor() -> None:
    # What the hub measured with 12 % loss on the site's link (issue 9).
    assert grade(losses(8.3, 12.5, 14.1), T).grade is Grade.POOR
    assert grade(losses(12.5, 8.3, 9.0), T).grade is Grade.GOOD  # most samples under 10


def test_two_samples_need_both_to_agree() -> None:
    assert grade(losses(0, 30), T).grade is Grade.GOOD
    assert grade(losses(20, 30), T).grade is Grade.BAD


def test_round_trip_and_jitter_bounds() -> None:
    slow = [LinkSample(rtt_ms=500, loss_pct=0)] * 3
    result = grade(slow, T)
    assert result.grade is Grade.POOR
    assert [(r.code, r.limit) for r in result.reasons] == [("rtt", 400)]
    assert grade([LinkSample(rtt_ms=900)] * 3, T).grade is Grade.BAD
    assert grade([LinkSample(jitter_ms=35)] * 3, T).grade is Grade.POOR
    assert grade([LinkSample(jitter_ms=60)] * 3, T).grade is Grade.BAD


def test_the_worst_figure_decides_and_every_reason_is_given_worst_first() -> None:
    result = grade([LinkSample(loss_pct=11, rtt_ms=900, jitter_ms=31)] * 3, T)
    assert result.grade is Grade.BAD
    assert [(r.code, str(r.grade)) for r in result.reasons] == [
        ("rtt", "bad"),
        ("loss", "poor"),
        ("jitter", "poor"),
    ]
    assert "round trip ms 900" in result.reasons[0].text


def test_nothing_received_is_bad() -> None:
    dead = [LinkSample(bitrate_in_kbps=0.0, rtt_ms=40)] * 2
    result = grade(dead, T)
    assert result.grade is Grade.BAD
    assert [r.code for r in result.reasons] == ["no_media"]
    # One sample of nothing (a start-up moment) is not yet a dead link.
    assert grade([LinkSample(bitrate_in_kbps=900), LinkSample(bitrate_in_kbps=0)], T).grade is (
        Grade.GOOD
    )


def test_the_browsers_own_limitation_counts_when_most_of_the_window_says_it() -> None:
    limited = [LinkSample(quality_limitation="bandwidth", loss_pct=0)] * 2 + [
        LinkSample(quality_limitation="none", loss_pct=0)
    ]
    assert grade(limited, T).grade is Grade.POOR
    assert grade(limited[1:], T).grade is Grade.GOOD  # one of two is no majority


def test_a_relayed_link_is_said_but_not_marked_down() -> None:
    result = grade([LinkSample(loss_pct=0, candidate_type="relay")] * 3, T)
    assert result.grade is Grade.GOOD
    assert [r.code for r in result.reasons] == ["relay"]


def test_no_figures_is_unknown_not_good() -> None:
    assert grade([], T).grade is Grade.UNKNOWN
    assert grade([LinkSample(sent_width=640)], T).grade is Grade.UNKNOWN


def test_thresholds_from_settings_move_the_bounds() -> None:
    strict = GradeThresholds(loss_poor_pct=2, loss_bad_pct=5, window=1)
    assert grade(losses(3), strict).grade is Grade.POOR
    assert grade(losses(0, 0, 6), strict).grade is Grade.BAD  # window of 1: the last sample


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"loss_poor_pct": 20}, "loss"),
        ({"rtt_poor_ms": 0}, "rtt"),
        ({"jitter_bad_ms": math.nan}, "jitter"),
        ({"loss_poor_pct": 50, "loss_bad_pct": 120}, "loss"),
        ({"window": 0}, "window"),
    ],
)
def test_thresholds_that_make_no_sense_are_refused(changes: dict[str, float], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        GradeThresholds(**changes)  # type: ignore[arg-type]
    assert field in caught.value.fields


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"loss_pct": 120}, "loss_pct"),
        ({"rtt_ms": -1}, "rtt_ms"),
        ({"jitter_ms": math.inf}, "jitter_ms"),
        ({"fps": "30"}, "fps"),
        ({"candidate_type": "tcp"}, "candidate_type"),
        ({"quality_limitation": "slow"}, "quality_limitation"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_sample_is_refused_naming_the_field(fields: dict[str, object], named: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        LinkSample.from_fields(fields)
    assert named in caught.value.fields


def test_a_sample_from_the_hubs_quality_figures_merged_with_the_clients() -> None:
    hub_side = LinkSample.from_fields({"rtt_ms": 35.0, "loss_pct": 1.5, "bitrate_kbps": 812.0})
    assert hub_side.bitrate_in_kbps == 812.0
    client = LinkSample(sent_width=1280, sent_height=720, candidate_type="srflx")
    both = hub_side.merged(client)
    assert both.as_dict() == {
        "rtt_ms": 35.0,
        "loss_pct": 1.5,
        "bitrate_in_kbps": 812.0,
        "sent_width": 1280,
        "sent_height": 720,
        "candidate_type": "srflx",
    }
    assert LinkSample.from_fields(both.as_dict()) == both

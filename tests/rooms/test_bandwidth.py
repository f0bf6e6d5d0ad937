"""The low-bandwidth decision (rooms.bandwidth) sample by sample, from figures like those a thin
link gives: in after a bad spell, out after a good one, no flapping at the edge, and a longer
wait after a quick relapse."""

from __future__ import annotations

import pytest

from rooms.bandwidth import BandwidthGuard, BandwidthPolicy, grade
from rooms.quality import Quality, _Counters, _out_loss

POLICY = BandwidthPolicy(after_seconds=6, recover_seconds=10, interval=2)


def sample(
    loss: float | None = 0.0, out_loss: float | None = 0.0, rtt: float | None = 40.0
) -> Quality:
    return Quality(rtt_ms=rtt, loss_pct=loss, bitrate_kbps=900.0, out_loss_pct=out_loss)


GOOD = sample()
# A 300 kbit/s link under three 1 Mbit/s streams: most of what the hub sends is lost.
THIN_DOWN = sample(out_loss=72.0, rtt=260.0)
# Its own upstream too thin: the hub loses what the site sends.
THIN_UP = sample(loss=41.0, out_loss=None, rtt=None)
EDGE = sample(loss=12.0)  # HMCTS "poor": neither good nor bad


def feed(guard: BandwidthGuard, samples: list[Quality]) -> list[bool | None]:
    return [guard.observe(s) for s in samples]


def test_samples_follow_the_seconds_and_the_interval() -> None:
    assert (POLICY.after_samples, POLICY.recover_samples) == (3, 5)
    assert BandwidthPolicy(after_seconds=5, recover_seconds=1, interval=2).after_samples == 3
    assert BandwidthPolicy(after_seconds=0).after_samples == 0


def test_grades() -> None:
    assert grade(GOOD, POLICY) == "good"
    assert grade(THIN_DOWN, POLICY) == "bad"
    assert grade(THIN_UP, POLICY) == "bad"
    assert grade(EDGE, POLICY) == "poor"
    assert grade(sample(rtt=850.0), POLICY) == "bad"
    assert grade(sample(rtt=450.0), POLICY) == "poor"
    assert grade(sample(loss=None, out_loss=None, rtt=None), POLICY) is None


def test_in_after_a_bad_spell_and_out_after_a_good_one() -> None:
    guard = BandwidthGuard(POLICY)
    assert feed(guard, [THIN_DOWN, THIN_DOWN]) == [None, None]
    assert guard.observe(THIN_UP) is True  # the third bad sample in a row, either way
    assert guard.on
    # Still thin (audio only now fits, the upstream does not): it stays.
    assert feed(guard, [THIN_UP] * 10) == [None] * 10
    assert feed(guard, [GOOD] * 4) == [None] * 4
    assert guard.observe(GOOD) is False
    assert not guard.on


def test_a_bad_spell_broken_by_a_good_sample_starts_again() -> None:
    guard = BandwidthGuard(POLICY)
    assert feed(guard, [THIN_DOWN, THIN_DOWN, GOOD, THIN_DOWN, THIN_DOWN]) == [None] * 5
    assert guard.observe(THIN_DOWN) is True


def test_a_link_at_the_edge_changes_nothing() -> None:
    # Poor samples alone never switch the mode, either way ...
    guard = BandwidthGuard(POLICY)
    assert feed(guard, [EDGE] * 30) == [None] * 30
    feed(guard, [THIN_DOWN] * 3)
    assert guard.on
    assert feed(guard, [EDGE] * 30) == [None] * 30
    assert guard.on
    # ... one among good ones (a burst of loss) pauses the recovery rather than restarting it
    # ...
    assert feed(guard, [GOOD, GOOD, EDGE, GOOD, GOOD]) == [None] * 5
    assert guard.observe(GOOD) is False
    # ... while bad samples now and then on a poor link (12 % loss, some samples over 15 %)
    # never add up to a bad spell.
    guard = BandwidthGuard(POLICY)
    assert feed(guard, [THIN_DOWN, EDGE, THIN_DOWN, THIN_DOWN, EDGE] * 6) == [None] * 30
    assert not guard.on


def test_samples_with_nothing_measured_change_nothing() -> None:
    guard = BandwidthGuard(POLICY)
    blank = sample(loss=None, out_loss=None, rtt=None)
    assert feed(guard, [THIN_DOWN, blank, THIN_DOWN, blank, THIN_DOWN]) == [
        None,
        None,
        None,
        None,
        True,
    ]


def test_a_quick_relapse_doubles_the_wait_and_a_long_spell_resets_it() -> None:
    guard = BandwidthGuard(POLICY)
    feed(guard, [THIN_DOWN] * 3)
    feed(guard, [GOOD] * 5)
    assert not guard.on and guard.needed_to_recover == 5
    # Full video again is too much for it: back in within a few samples.
    assert feed(guard, [THIN_DOWN] * 3)[-1] is True
    assert guard.needed_to_recover == 10
    assert feed(guard, [GOOD] * 9) == [None] * 9
    assert guard.observe(GOOD) is False
    assert feed(guard, [THIN_DOWN] * 3)[-1] is True
    assert guard.needed_to_recover == 20
    for _ in range(5):  # capped at max_backoff
        feed(guard, [GOOD] * guard.needed_to_recover)
        feed(guard, [THIN_DOWN] * 3)
    assert guard.needed_to_recover == 5 * POLICY.max_backoff
    feed(guard, [GOOD] * guard.needed_to_recover)
    # A long while at full video before the next bad spell: the wait starts over.
    feed(guard, [GOOD] * 200)
    assert feed(guard, [THIN_DOWN] * 3)[-1] is True
    assert guard.needed_to_recover == 5


def test_never_by_itself_when_after_is_zero() -> None:
    guard = BandwidthGuard(BandwidthPolicy(after_seconds=0))
    assert feed(guard, [THIN_DOWN] * 20) == [None] * 20
    # Switched on by hand, it still comes back by itself once good.
    guard.reset(True)
    assert feed(guard, [GOOD] * guard.needed_to_recover)[-1] is False


def test_outgoing_loss_per_stream_from_receiver_reports() -> None:
    before = _Counters(
        0.0, 0, 0, 0, 0, sent={"s1": 1000, "s2": 500}, reported_lost={"s1": 10, "s2": 0}
    )
    # Stream 1: 400 sent, 300 of them reported lost; stream 2 ended (gone from getStats);
    # stream 3 is new (no earlier count: not judged yet).
    after = _Counters(
        2.0, 0, 0, 0, 0, sent={"s1": 1400, "s3": 90}, reported_lost={"s1": 310, "s3": 5}
    )
    assert _out_loss(before, after) == pytest.approx(75.0)
    assert _out_loss(after, after) is None  # nothing sent: nothing to judge

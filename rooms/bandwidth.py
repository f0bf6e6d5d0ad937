"""Low-bandwidth mode, decided from the hub's own figures: a site whose link stays bad for long
enough receives audio only plus the spotlit site's video, and full video again once its link has
been good for long enough. Plain logic over rooms.quality figures, no I/O (the room applies it)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rooms.quality import QUALITY_INTERVAL, Quality

# Why a site is in (or left) the mode, as participant_mode and the session log say it.
BAD_LINK = "bad_link"  # the hub graded its link bad for long enough
RECOVERED = "recovered"  # good again for long enough
MODERATOR = "moderator"  # the chair or a moderator switched it
OPERATOR = "operator"  # an operator switched it from the board
MANUAL = (MODERATOR, OPERATOR)


@dataclass(frozen=True)
class BandwidthPolicy:
    """Thresholds of the decision (from Settings; see hub/config.py)."""

    # Seconds of bad samples in a row before a site goes into the mode (0: never by itself).
    after_seconds: float = 6.0
    # Seconds of good samples in a row before it comes back to full video.
    recover_seconds: float = 20.0
    # A sample is bad at this loss (either way: what the hub receives from the site, or what the
    # site reports losing of what the hub sends it), or this round trip; HMCTS grades 15 % bad.
    # The hub passes the link grade's thresholds (Settings.link_*); these are their defaults.
    bad_loss_pct: float = 15.0
    bad_rtt_ms: float = 800.0
    # ... and good only under these (10 % is HMCTS's "good"). A sample in between ("poor")
    # breaks a bad spell (a poor link, 12 % loss say, now and then over 15 %, is not a bad one)
    # but only pauses a good one (one burst of loss does not start a recovery over); a link
    # hovering at the edge changes nothing either way.
    good_loss_pct: float = 10.0
    good_rtt_ms: float = 400.0
    # Back in the mode soon after coming out (within this many recovery periods): the link
    # carried audio but not full video, so the next recovery waits twice as long, up to
    # max_backoff times recover_seconds.
    max_backoff: int = 8
    interval: float = QUALITY_INTERVAL

    @property
    def after_samples(self) -> int:
        """Bad samples in a row that switch the mode on (0: never)."""
        if self.after_seconds <= 0:
            return 0
        return max(1, math.ceil(self.after_seconds / self.interval - 1e-9))

    @property
    def recover_samples(self) -> int:
        """Good samples in a row that switch it off again."""
        return max(1, math.ceil(self.recover_seconds / self.interval - 1e-9))


def grade(quality: Quality, policy: BandwidthPolicy) -> str | None:
    """'bad', 'good' or 'poor' for one sample; None when it measured nothing to judge by."""
    losses = [x for x in (quality.loss_pct, quality.out_loss_pct) if x is not None]
    rtt = quality.rtt_ms
    if not losses and rtt is None:
        return None
    if any(x >= policy.bad_loss_pct for x in losses) or (
        rtt is not None and rtt >= policy.bad_rtt_ms
    ):
        return "bad"
    if all(x < policy.good_loss_pct for x in losses) and (rtt is None or rtt < policy.good_rtt_ms):
        return "good"
    return "poor"


class BandwidthGuard:
    """One site's decision, sample by sample: observe() says when the mode should change."""

    def __init__(self, policy: BandwidthPolicy, *, on: bool = False) -> None:
        self.policy = policy
        self.on = on
        self.bad = 0
        self.good = 0
        # Recovery waits recover_samples * backoff (doubled on each quick relapse).
        self.backoff = 1
        # Samples since it last came out of the mode by itself (None: never did).
        self._since_recovery: int | None = None

    @property
    def needed_to_recover(self) -> int:
        """Good samples in a row it takes now."""
        return self.policy.recover_samples * self.backoff

    def reset(self, on: bool) -> None:
        """The mode was set from outside (a moderator): start counting afresh."""
        self.on = on
        self.bad = self.good = 0

    def observe(self, quality: Quality) -> bool | None:
        """Count one sample; True: switch the mode on now, False: off now, None: no change."""
        if self._since_recovery is not None:
            self._since_recovery += 1
        graded = grade(quality, self.policy)
        if graded is None:
            return None
        self.bad = self.bad + 1 if graded == "bad" else 0
        if graded != "poor":
            self.good = self.good + 1 if graded == "good" else 0
        after = self.policy.after_samples
        if not self.on and after and self.bad >= after:
            relapse = self._since_recovery is not None and (
                self._since_recovery <= 2 * self.needed_to_recover
            )
            if relapse:
                self.backoff = min(self.policy.max_backoff, self.backoff * 2)
            elif self._since_recovery is not None:
                self.backoff = 1  # long enough at full video: a fresh start
            self.on = True
            self.bad = self.good = 0
            return True
        if self.on and self.good >= self.needed_to_recover:
            self.on = False
            self.bad = self.good = 0
            self._since_recovery = 0
            return False
        return None

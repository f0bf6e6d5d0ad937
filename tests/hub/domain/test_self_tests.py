"""Self-test results: a score follows from its reasons, unknown or repeated reasons are refused,
and the page's own table of bad reasons is the domain's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub.domain.errors import ValidationFailed
from hub.domain.self_tests import REASONS, Score, SelfTestDraft, score_of

PAGE = Path(__file__).resolve().parents[3] / "web" / "static" / "js" / "self-test.js"


def test_the_score_is_the_worst_of_the_reasons() -> None:
    assert score_of([]) is Score.GOOD
    assert score_of(["speaker_unconfirmed", "fps_low"]) is Score.OKAY
    assert score_of(["fps_low", "camera_blocked"]) is Score.BAD


def test_a_draft_whose_score_does_not_follow_is_refused_by_name() -> None:
    SelfTestDraft(1, 1, Score.OKAY, ("loss_elevated",))
    with pytest.raises(ValidationFailed) as caught:
        SelfTestDraft(1, 1, Score.GOOD, ("loss_high",))
    assert caught.value.fields == {"score": "must be bad for these reasons"}
    with pytest.raises(ValidationFailed, match="unknown reason 'gremlins'"):
        SelfTestDraft(1, 1, Score.BAD, ("gremlins",))
    with pytest.raises(ValidationFailed, match="twice"):
        SelfTestDraft(1, 1, Score.OKAY, ("fps_low", "fps_low"))


def test_the_page_weighs_every_reason_as_the_hub_does() -> None:
    source = PAGE.read_text(encoding="utf-8")
    table = re.search(r"const BAD = new Set\(\[(.*?)\]\);", source, re.S)
    assert table is not None, "self-test.js lost its BAD table"
    page_bad = set(re.findall(r'"([a-z_]+)"', table.group(1)))
    assert page_bad == {r for r, weight in REASONS.items() if weight is Score.BAD}
    # The page gives every reason the hub knows, and none other.
    given = set(re.findall(r'reasons\.push\("([a-z_]+)"\)', source))
    given |= {
        f"{d}_{k}" for d in ("camera", "microphone") for k in ("blocked", "missing", "failed")
    }
    assert given == REASONS.keys(), given ^ REASONS.keys()

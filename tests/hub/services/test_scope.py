"""Office scope as SQL ranges: an office sees its own and its descendants' records."""

from __future__ import annotations

import pytest

from hub.services.scope import subtree_range


def within(scope: str, path: str) -> bool:
    low, high = subtree_range(scope)
    return low <= path < high


@pytest.mark.parametrize(
    ("scope", "path", "inside"),
    [
        ("/1/", "/1/", True),
        ("/1/", "/1/2/", True),
        ("/1/", "/1/2/3/4/", True),
        ("/1/2/", "/1/2/", True),
        ("/1/2/", "/1/2/3/", True),
        ("/1/2/", "/1/2/39/7/", True),
        ("/1/2/", "/1/20/", False),  # a sibling whose id starts with the same digit
        ("/1/2/", "/1/21/3/", False),
        ("/1/2/", "/1/3/", False),
        ("/1/2/", "/1/", False),  # the parent is outside its child's scope
        ("/1/2/3/", "/1/2/", False),
        ("/1/9/", "/1/10/", False),
        ("/1/9/", "/1/9/10/", True),
    ],
)
def test_the_range_holds_exactly_the_subtree(scope: str, path: str, inside: bool) -> None:
    assert within(scope, path) is inside


def test_the_bounds_are_the_path_and_the_path_with_its_last_slash_bumped() -> None:
    assert subtree_range("/1/5/") == ("/1/5/", "/1/50")

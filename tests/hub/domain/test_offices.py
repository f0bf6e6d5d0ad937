"""Office drafts and the materialised paths that make an office's subtree."""

from __future__ import annotations

from typing import Any

import pytest

from hub.domain.errors import ValidationFailed
from hub.domain.offices import OfficeDraft, child_path, path_in_scope


def draft(**changes: Any) -> OfficeDraft:
    fields: dict[str, Any] = {
        "code": "HY.VANLAM",
        "name": "Ban Tiếp công dân huyện Văn Lâm",
        "level": "district",
        "parent_id": 2,
    }
    fields.update(changes)
    return OfficeDraft(**fields)


def refused(**changes: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        draft(**changes)
    return caught.value.fields


def test_levels_are_labels_not_a_fixed_depth() -> None:
    # Two-tier local government since 2025: communes directly under provinces, new labels too.
    draft(code="HY.PHOHIEN", level="commune")
    draft(code="HY.SPECIAL", level="special_zone")


@pytest.mark.parametrize("code", ["", "hy", "-HY", "HY VAN", "H" * 41, "HÝ"])
def test_codes_are_capitals_digits_and_separators(code: str) -> None:
    assert "code" in refused(code=code)


@pytest.mark.parametrize("level", ["", "x", "District", "tỉnh", "a" * 31])
def test_levels_are_lowercase_labels(level: str) -> None:
    assert "level" in refused(level=level)


@pytest.mark.parametrize("name", ["", "  ", "x" * 201])
def test_names_are_required_and_bounded(name: str) -> None:
    assert "name" in refused(name=name)


def test_only_the_central_office_has_no_parent() -> None:
    OfficeDraft("TW", "Trụ sở Tiếp công dân Trung ương", "central", None)
    assert "parent_id" in refused(code="TW2", level="central", parent_id=1)
    assert "parent_id" in refused(parent_id=None)


def test_paths_nest_and_a_prefix_is_the_subtree() -> None:
    root = child_path(None, 1)
    province = child_path(root, 2)
    district = child_path(province, 3)
    assert (root, province, district) == ("/1/", "/1/2/", "/1/2/3/")
    assert path_in_scope(province, district)
    assert path_in_scope(province, province)
    assert not path_in_scope(district, province)
    # Office 20 is a sibling of office 2, not its child.
    assert not path_in_scope(province, child_path(root, 20))

"""User drafts and what each role may do."""

from __future__ import annotations

from typing import Any

import pytest

from hub.domain.errors import ValidationFailed
from hub.domain.users import PERMISSIONS, Action, Role, UserDraft, may


def test_only_admins_manage_offices_users_and_read_the_audit_trail() -> None:
    for action in (Action.MANAGE_OFFICES, Action.MANAGE_USERS, Action.READ_AUDIT):
        assert [r for r in Role if may(r, action)] == [Role.ADMIN]


def test_operators_never_touch_petitions() -> None:
    assert PERMISSIONS[Role.OPERATOR] == {Action.READ_HEARINGS, Action.MONITOR}


def test_leaders_run_hearings_and_link_petitions_but_do_not_schedule_or_edit() -> None:
    assert may(Role.LEADER, Action.RUN_HEARINGS)
    assert may(Role.LEADER, Action.LINK_PETITIONS)
    assert not may(Role.LEADER, Action.EDIT_HEARINGS)
    assert not may(Role.LEADER, Action.EDIT_PETITIONS)


def test_every_role_reads_hearings() -> None:
    assert all(may(role, Action.READ_HEARINGS) for role in Role)


def draft(**changes: Any) -> UserDraft:
    fields: dict[str, Any] = {
        "username": "staff.hungyen2",
        "display_name": "Cán bộ tiếp công dân",
        "role": Role.STAFF,
        "office_id": 2,
        "password": "mật khẩu dài",
    }
    fields.update(changes)
    return UserDraft(**fields)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"username": "a"}, "username"),
        ({"username": "Staff"}, "username"),
        ({"username": "cán.bộ"}, "username"),
        ({"username": ".staff"}, "username"),
        ({"display_name": " "}, "display_name"),
        ({"password": "abc"}, "password"),
        ({"password": "x" * 201}, "password"),
    ],
)
def test_bad_accounts_are_refused_by_field(changes: dict[str, Any], field: str) -> None:
    draft()
    with pytest.raises(ValidationFailed) as caught:
        draft(**changes)
    assert field in caught.value.fields

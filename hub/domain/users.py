"""Users and roles, and what each role may do."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from hub.domain.errors import ValidationFailed


class Role(enum.StrEnum):
    """A user's role; every user belongs to one office."""

    LEADER = "leader"
    STAFF = "staff"
    OPERATOR = "operator"
    ADMIN = "admin"


class Action(enum.StrEnum):
    """Things a role may be allowed to do (checked after office scope)."""

    READ_HEARINGS = "read_hearings"
    EDIT_HEARINGS = "edit_hearings"
    RUN_HEARINGS = "run_hearings"  # start, end, join, mark petitions heard
    # Moderate a live hearing's room: admit, send back to the waiting room, mute a site,
    # remove, spotlight, "now hearing" (hub.domain.hearing_roles says from where).
    MODERATE_HEARINGS = "moderate_hearings"
    READ_PETITIONS = "read_petitions"
    EDIT_PETITIONS = "edit_petitions"
    LINK_PETITIONS = "link_petitions"
    WRITE_LOG_NOTES = "write_log_notes"
    # Sign a hearing's minutes off (then they are read-only); staff draft and edit them.
    SIGN_MINUTES = "sign_minutes"
    MONITOR = "monitor"
    MANAGE_OFFICES = "manage_offices"
    MANAGE_USERS = "manage_users"
    READ_AUDIT = "read_audit"
    # Keep the holiday table (central admins) and an office's deadline overrides.
    MANAGE_DEADLINES = "manage_deadlines"


_ALL = frozenset(Action)
PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: _ALL,
    Role.STAFF: frozenset(
        {
            Action.READ_HEARINGS,
            Action.EDIT_HEARINGS,
            Action.RUN_HEARINGS,
            Action.READ_PETITIONS,
            Action.EDIT_PETITIONS,
            Action.LINK_PETITIONS,
            Action.WRITE_LOG_NOTES,
        }
    ),
    Role.LEADER: frozenset(
        {
            Action.READ_HEARINGS,
            Action.RUN_HEARINGS,
            Action.MODERATE_HEARINGS,
            Action.READ_PETITIONS,
            Action.LINK_PETITIONS,
            Action.WRITE_LOG_NOTES,
            Action.SIGN_MINUTES,
        }
    ),
    # Operators watch connectivity; citizens' personal data is none of their business.
    Role.OPERATOR: frozenset({Action.READ_HEARINGS, Action.MONITOR}),
}


def may(role: Role, action: Action) -> bool:
    """Whether the role allows the action at all."""
    return action in PERMISSIONS[role]


_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


@dataclass(frozen=True)
class UserDraft:
    """A new user account, checked on construction."""

    username: str
    display_name: str
    role: Role
    office_id: int
    password: str

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        if not _USERNAME.match(self.username):
            errors["username"] = "must be 2-64 characters: lowercase letters, digits, '.', '_', '-'"
        if not self.display_name.strip() or len(self.display_name) > 200:
            errors["display_name"] = "must be 1-200 characters"
        if len(self.password) < 4 or len(self.password) > 200:
            errors["password"] = "must be 4-200 characters"
        if errors:
            raise ValidationFailed("invalid user", errors)

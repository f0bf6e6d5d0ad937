"""Offices: a tree of reception boards (central -> province -> [district ->] commune).

Levels are labels, not a fixed depth: since 2025 most provinces have no district level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hub.domain.errors import ValidationFailed

# Conventional labels; any other lowercase label is accepted so new tiers need no code change.
KNOWN_LEVELS = ("central", "province", "district", "commune")
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,39}$")


@dataclass(frozen=True)
class OfficeDraft:
    """A new office, checked on construction."""

    code: str
    name: str
    level: str
    parent_id: int | None
    has_bridge_point: bool = True

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        if not _CODE.match(self.code):
            errors["code"] = "must be 1-40 characters: capital letters, digits, '_', '.', '-'"
        if not self.name.strip() or len(self.name) > 200:
            errors["name"] = "must be 1-200 characters"
        if not re.match(r"^[a-z][a-z_]{1,29}$", self.level):
            errors["level"] = "must be a lowercase label such as " + ", ".join(KNOWN_LEVELS)
        if self.level == "central" and self.parent_id is not None:
            errors["parent_id"] = "the central office has no parent"
        if self.level != "central" and self.parent_id is None:
            errors["parent_id"] = "required for every office below the central office"
        if errors:
            raise ValidationFailed("invalid office", errors)


def child_path(parent_path: str | None, office_id: int) -> str:
    """Materialised path of an office: '/1/' for a root, parent path + 'id/' below it.

    A prefix match on this path selects an office's whole subtree in one indexed query.
    """
    return f"{parent_path or '/'}{office_id}/"


def path_in_scope(scope_path: str, path: str) -> bool:
    """True when the office at `path` is the scope office itself or one of its descendants."""
    return path.startswith(scope_path)

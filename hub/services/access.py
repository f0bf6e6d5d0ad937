"""Who is acting, and the two checks every service makes: role permission and office scope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.domain.errors import Forbidden
from hub.domain.offices import path_in_scope
from hub.domain.users import Action, Role, may


@dataclass(frozen=True)
class Actor:
    """A signed-in user as services see it."""

    user_id: int
    username: str
    display_name: str
    role: Role
    office_id: int
    office_name: str
    # Materialised path of the user's office: the user's scope is that subtree.
    office_path: str

    def require(self, action: Action) -> None:
        """Raise Forbidden, naming the role and the action, unless the role allows it."""
        if not may(self.role, action):
            raise Forbidden(f"the {self.role} role may not {action.replace('_', ' ')}")

    def can(self, action: Action) -> bool:
        """Whether the role allows the action."""
        return may(self.role, action)

    def sees(self, office_path: str) -> bool:
        """Whether an office (by its path) lies in this actor's scope."""
        return path_in_scope(self.office_path, office_path)


def actor_view(actor: Actor) -> dict[str, Any]:
    """The signed-in user as the API and the pages show it (never the office path)."""
    return {
        "id": actor.user_id,
        "username": actor.username,
        "display_name": actor.display_name,
        "role": str(actor.role),
        "office_id": actor.office_id,
        "office_name": actor.office_name,
    }

"""Who runs, moderates, joins and watches a live hearing: one rule set for the REST API and the
live rooms.

PERMISSIONS (hub.domain.users) say what a role may do at all; a hearing adds where one sits.
Starting and ending a hearing needs Action.RUN_HEARINGS (as hub.services.hearings checks over
REST), moderating its room (admit, send back to the waiting room, mute a site, remove,
spotlight, "now hearing", a site's low-bandwidth mode) needs Action.MODERATE_HEARINGS; either
only from the host office or an office above it (the host side). The hearing's chair may do
both from the chair's own office, wherever it lies. An operator, who watches the sites' links
from the board rather than sitting in the hearing, may switch the low-bandwidth mode of a site
on its board.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hub.domain.errors import Forbidden
from hub.domain.users import Action, Role, may


class Control(enum.StrEnum):
    """Something done to a hearing while it runs (REST or live room)."""

    START = "start"
    END = "end"
    ADMIT = "admit"
    SEND_TO_WAITING = "send_to_waiting"
    MUTE_SITE = "mute_site"
    REMOVE = "remove"
    SPOTLIGHT = "spotlight"
    NOW_HEARING = "now_hearing"
    LOW_BANDWIDTH = "low_bandwidth"


# The permission each control needs, on the host side (the chair needs none).
NEEDS: dict[Control, Action] = {
    Control.START: Action.RUN_HEARINGS,
    Control.END: Action.RUN_HEARINGS,
    Control.ADMIT: Action.MODERATE_HEARINGS,
    Control.SEND_TO_WAITING: Action.MODERATE_HEARINGS,
    Control.MUTE_SITE: Action.MODERATE_HEARINGS,
    Control.REMOVE: Action.MODERATE_HEARINGS,
    Control.SPOTLIGHT: Action.MODERATE_HEARINGS,
    Control.NOW_HEARING: Action.MODERATE_HEARINGS,
    Control.LOW_BANDWIDTH: Action.MODERATE_HEARINGS,
}


def role_named(name: str) -> Role | None:
    """The Role of a role name; None for anything else (a site's token with no user)."""
    try:
        return Role(name)
    except ValueError:
        return None


@dataclass(frozen=True)
class Seat:
    """Where someone sits in one hearing, as far as the rules care."""

    role: Role | None  # None: a site's token with no user behind it
    # At the host office or an office above it.
    host_side: bool
    # The hearing's chair, sitting at the chair's own office.
    chair: bool = False


def may_control(seat: Seat, control: Control) -> bool:
    """Whether the seat may do `control` to the hearing."""
    if seat.chair:
        return True
    return seat.role is not None and seat.host_side and may(seat.role, NEEDS[control])


def require_control(seat: Seat, control: Control) -> None:
    """Forbidden, naming who may, unless the seat may do `control`."""
    if not may_control(seat, control):
        needed = NEEDS[control].replace("_", " ")
        raise Forbidden(
            f"only the hearing's chair, or a role that may {needed} at the host office or an "
            f"office above it, may {control.replace('_', ' ')} this hearing"
        )


def moderates(seat: Seat) -> bool:
    """Whether the seat moderates the room (every moderation control comes with it)."""
    return may_control(seat, Control.ADMIT)


def starts_admitted(seat: Seat, *, live: bool, admitted_before: bool) -> bool:
    """Whether a participant skips the waiting room: whoever may start or moderate the
    hearing, or a site admitted earlier while the hearing was live (a rejoin after a drop)."""
    if may_control(seat, Control.START) or moderates(seat):
        return True
    return live and admitted_before


def may_join(role: Role | None) -> bool:
    """Whether a signed-in role may join live hearings at all (at one of its sites or above
    the host); a join token carries the one seat it was issued for instead."""
    return role is not None and may(role, Action.RUN_HEARINGS)


def may_switch_bandwidth_from_board(role: Role | None) -> bool:
    """Whether a signed-in role may switch a site's low-bandwidth mode from the operators'
    board (for the sites the board shows it): those who monitor connectivity."""
    return role is not None and may(role, Action.MONITOR)


def may_watch_sites(role: Role | None) -> bool:
    """Whether a signed-in role may watch the sites' connectivity board: those who monitor
    connectivity, and those who moderate live hearings."""
    return role is not None and (may(role, Action.MONITOR) or may(role, Action.MODERATE_HEARINGS))

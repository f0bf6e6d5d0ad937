"""Who waits in the waiting room and who runs a hearing (moderates): the rules, nothing else."""

from __future__ import annotations

from hub.services.live import HearingAccess, Principal

# Roles at the host office that are let in without waiting.
HOST_ROLES = frozenset({"leader", "staff", "admin"})
# Roles that moderate when at the host office or above it.
MODERATOR_ROLES = frozenset({"leader", "admin"})
FORBIDDEN_MESSAGE = "only the hearing's chair or a leader of the host office may do this"


def is_moderator(principal: Principal, access: HearingAccess) -> bool:
    """The chair, or a leader or admin at the host office or an office above it."""
    return access.chair or (principal.role in MODERATOR_ROLES and access.host_side)


def starts_admitted(principal: Principal, access: HearingAccess, admitted: set[int]) -> bool:
    """Whether a participant skips the waiting room: a leader, staff member or admin at the
    host office, a moderator (the chair; a leader above the host office), or a site admitted
    earlier while the hearing was live (a rejoin after a drop)."""
    if principal.office_id == access.host_office_id and principal.role in HOST_ROLES:
        return True
    if is_moderator(principal, access):
        return True
    return access.status == "live" and principal.office_id in admitted

"""The session log: append-only, time-stamped, attributed events of one hearing."""

from __future__ import annotations

import enum
from typing import Any


class LogKind(enum.StrEnum):
    """Every kind of event a hearing's log records."""

    SCHEDULED = "scheduled"
    UPDATED = "updated"
    CANCELLED = "cancelled"
    STARTED = "started"
    ENDED = "ended"
    PARTICIPANT_JOINED = "participant_joined"
    PARTICIPANT_LEFT = "participant_left"
    PARTICIPANT_DROPPED = "participant_dropped"
    PARTICIPANT_ADMITTED = "participant_admitted"
    PARTICIPANT_MUTED = "participant_muted"
    PARTICIPANT_REMOVED = "participant_removed"
    PARTICIPANT_SENT_TO_WAITING = "participant_sent_to_waiting"
    MEDIA_STARTED = "media_started"
    CONNECTIVITY = "connectivity"
    PETITION_LINKED = "petition_linked"
    PETITION_HEARD = "petition_heard"
    PETITION_UNLINKED = "petition_unlinked"
    NOTE = "note"
    MINUTES = "minutes"
    # A guest (hub.domain.guests) invited, given a (new) link, its link revoked, or removed.
    GUEST_INVITED = "guest_invited"
    GUEST_LINK_ISSUED = "guest_link_issued"
    GUEST_REVOKED = "guest_revoked"
    GUEST_REMOVED = "guest_removed"
    # A recording of the hearing started or stopped (the stop carries the file's SHA-256).
    RECORDING_STARTED = "recording_started"
    RECORDING_STOPPED = "recording_stopped"


def admission_change(kind: str, detail: dict[str, Any] | None) -> bool | None:
    """What a live hearing's log entry about a site does to its office's admission: True when
    the office is now admitted (a moderator admitted it, or it joined admitted), False when it
    must wait for a moderator again (sent to the waiting room, removed, its grounds revoked),
    None when the entry leaves it as it was (a leave or a drop keeps it: the site comes back)."""
    if kind == LogKind.PARTICIPANT_ADMITTED:
        return True
    if kind == LogKind.PARTICIPANT_JOINED:
        return True if (detail or {}).get("state") == "admitted" else None
    if kind in (LogKind.PARTICIPANT_SENT_TO_WAITING, LogKind.PARTICIPANT_REMOVED):
        return False
    return None


# Entries that say where a site stands in a hearing: the last of them before a join tells
# whether that join is a return from a drop.
SITE_PRESENCE_KINDS = (
    LogKind.PARTICIPANT_JOINED,
    LogKind.PARTICIPANT_LEFT,
    LogKind.PARTICIPANT_DROPPED,
    LogKind.PARTICIPANT_REMOVED,
)


def restoration(
    kind: str, previous_kind: str | None, previous_at: float | None, at: float
) -> dict[str, Any] | None:
    """The connectivity entry (detail) a site's join makes when the office's last presence
    entry in the hearing was a drop (its network, its media path, the hub or a worker going
    away): the return, with when it dropped and how long it was out. None for any other join.

    It is read from the log itself, so that an outage across a restart of the hub is still
    recorded when the site comes back; times are Unix seconds."""
    if kind != LogKind.PARTICIPANT_JOINED or previous_kind != LogKind.PARTICIPANT_DROPPED:
        return None
    if previous_at is None:
        return None
    return {
        "event": "site_restored",
        "dropped_at": previous_at,
        "outage_seconds": round(max(0.0, at - previous_at), 1),
    }

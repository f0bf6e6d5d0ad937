"""The session log: append-only, time-stamped, attributed events of one hearing."""

from __future__ import annotations

import enum


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

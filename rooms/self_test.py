"""Self-test rooms: a site's test call against the hub, whose media the hub sends straight back.

A self-test room is an ordinary room (rooms.room.Room, in this process or on a media worker)
keyed by a negative id, so it can never be taken for a hearing's (hearing ids are positive and
the id is all that crosses the worker channel). Its one participant receives its own
publications (Room(echo=True)); nothing about it goes into a session log, the operators' board
or the admissions remembered for hearings.
"""

from __future__ import annotations

import secrets

# Self-test room ids are drawn from [-2**52, -1]: random, so that nodes sharing workers through
# Redis never pick the same one, and exact as a JSON number on any side.
_ID_SPACE = 2**52


def new_self_test_room_id() -> int:
    """A fresh room id for one self-test (negative)."""
    return -(secrets.randbelow(_ID_SPACE) + 1)


def is_self_test_room(room_id: int) -> bool:
    """Whether a room id is a self-test's rather than a hearing's."""
    return room_id < 0

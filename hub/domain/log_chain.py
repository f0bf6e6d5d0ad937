"""The session log's hash chain: each event carries the SHA-256 of its own fields and of the
event before it in the same hearing, so that a row changed, deleted or slipped in afterwards
shows as the first link that no longer holds.

The chain is per hearing. Its first event chains from GENESIS. An event's hash is the SHA-256
of `canonical(...)`: a JSON object with sorted keys, no spaces, UTF-8 (not ASCII-escaped),
holding the format version, hearing id, the event's place in the chain (seq, from 1), its time
(UTC, microseconds, "Z"), kind, user, office and petition ids, its detail, and the previous
event's hash. The hearing's chain head (the number of events and the last hash, kept beside
the log) lets a verifier see events deleted from the end too.

This is tamper-evidence against edits made outside the hub (a statement typed into the
database), not against someone who recomputes the whole chain and its head: that would need
the head published or signed elsewhere."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Version of the serialisation; a change of format is a new version and a rehash.
CHAIN_VERSION = 1
# The "previous hash" of a hearing's first event: the SHA-256 of a fixed label.
GENESIS = hashlib.sha256(b"tcd-hub session log v1 genesis").hexdigest()


def format_at(at: datetime) -> str:
    """An event's time as the chain hashes it: UTC, microseconds, 'Z'."""
    if at.tzinfo is None:
        raise ValueError("a session log time must be aware (UTC)")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalised_detail(detail: Mapping[str, Any] | None) -> dict[str, Any]:
    """The detail as the database gives it back (JSON round trip: tuples become lists, keys
    strings), so that the hash taken before the insert equals the one taken after a read."""
    out: dict[str, Any] = json.loads(json.dumps(dict(detail or {}), ensure_ascii=False))
    return out


@dataclass(frozen=True)
class ChainedEvent:
    """The fields of one event the chain covers, plus what the row stored of the chain."""

    id: int
    hearing_id: int
    seq: int | None
    at: datetime
    kind: str
    user_id: int | None
    office_id: int | None
    petition_id: int | None
    detail: Mapping[str, Any]
    prev_hash: str | None = None
    hash: str | None = None


def canonical(event: ChainedEvent, prev_hash: str) -> bytes:
    """The bytes an event's hash is taken over (see the module's docstring)."""
    body = {
        "v": CHAIN_VERSION,
        "hearing_id": event.hearing_id,
        "seq": event.seq,
        "at": format_at(event.at),
        "kind": event.kind,
        "user_id": event.user_id,
        "office_id": event.office_id,
        "petition_id": event.petition_id,
        "detail": normalised_detail(event.detail),
        "prev": prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_hash(event: ChainedEvent, prev_hash: str) -> str:
    """The hash an event must carry, given the previous event's."""
    return hashlib.sha256(canonical(event, prev_hash)).hexdigest()


@dataclass(frozen=True)
class ChainHead:
    """What the hearing's chain head says: how many events and the last one's hash."""

    length: int
    head: str


@dataclass(frozen=True)
class Break:
    """The first link of a hearing's chain that does not hold."""

    hearing_id: int
    # The event at which the chain breaks (None when the break is past the last event).
    event_id: int | None
    seq: int | None
    problem: str
    expected: str
    found: str

    def message(self) -> str:
        """One line saying what is wrong, for people."""
        where = f"event {self.event_id} (seq {self.seq})" if self.event_id else "end of log"
        return (
            f"hearing {self.hearing_id}: {where}: {self.problem}: "
            f"expected {self.expected}, found {self.found}"
        )

    def as_dict(self) -> dict[str, Any]:
        """The break as JSON-ready fields."""
        return {
            "hearing_id": self.hearing_id,
            "event_id": self.event_id,
            "seq": self.seq,
            "problem": self.problem,
            "expected": self.expected,
            "found": self.found,
            "message": self.message(),
        }


def verify(
    hearing_id: int, events: Iterable[ChainedEvent], head: ChainHead | None
) -> tuple[int, Break | None]:
    """Walk one hearing's events in the order they were written (by id): the number of events
    checked, and the first break or None.

    Each event must hold the next seq, carry the previous event's hash, and carry the hash of
    its own fields; at the end, the count and last hash must equal the chain head's (events
    deleted from the end leave an intact but shorter chain)."""
    prev = GENESIS
    count = 0
    for event in events:
        count += 1
        if event.seq != count:
            return count, Break(
                hearing_id, event.id, event.seq, "sequence", f"seq {count}", f"seq {event.seq}"
            )
        if event.prev_hash != prev:
            return count, Break(
                hearing_id, event.id, event.seq, "previous hash", prev, str(event.prev_hash)
            )
        own = link_hash(event, prev)
        if event.hash != own:
            return count, Break(hearing_id, event.id, event.seq, "event hash", own, str(event.hash))
        prev = own
    length, last = (head.length, head.head) if head else (0, GENESIS)
    if count != length or prev != last:
        return count, Break(
            hearing_id,
            None,
            None,
            "chain head",
            f"{length} events ending in {last}",
            f"{count} events ending in {prev}",
        )
    return count, None

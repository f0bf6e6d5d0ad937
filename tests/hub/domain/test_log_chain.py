"""The session log's hash chain as a pure function: a chain built link by link verifies, and
each kind of tampering is named at the event where it shows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hub.domain.log_chain import (
    GENESIS,
    ChainedEvent,
    ChainHead,
    canonical,
    format_at,
    link_hash,
    verify,
)

T0 = datetime(2026, 12, 2, 1, 0, 0, 123456, tzinfo=UTC)


def chain(n: int) -> tuple[list[ChainedEvent], ChainHead]:
    events = []
    prev = GENESIS
    for i in range(1, n + 1):
        event = ChainedEvent(
            id=100 + i,
            hearing_id=7,
            seq=i,
            at=T0 + timedelta(seconds=i),
            kind="note",
            user_id=3,
            office_id=1,
            petition_id=None,
            detail={"text": f"Ghi chú số {i}", "n": i},
        )
        digest = link_hash(event, prev)
        events.append(replace(event, prev_hash=prev, hash=digest))
        prev = digest
    return events, ChainHead(n, prev)


def test_the_canonical_form_is_sorted_compact_utf8_json_with_microsecond_utc_times() -> None:
    events, _ = chain(1)
    body = canonical(events[0], GENESIS).decode()
    assert body.startswith('{"at":"2026-12-02T01:00:01.123456Z","detail":{"n":1,"text":"Ghi chú')
    assert f'"prev":"{GENESIS}"' in body and '"seq":1' in body and " " not in body.split('"')[0]
    assert format_at(datetime(2026, 1, 1, 7, tzinfo=T0.tzinfo)) == "2026-01-01T07:00:00.000000Z"


def test_an_untouched_chain_verifies_and_an_empty_log_with_no_head_too() -> None:
    events, head = chain(5)
    assert verify(7, events, head) == (5, None)
    assert verify(7, [], None) == (0, None)


def test_a_changed_field_breaks_at_that_event_with_the_hash_expected() -> None:
    events, head = chain(5)
    events[2] = replace(events[2], detail={"text": "sửa lại", "n": 3})
    _, broken = verify(7, events, head)
    assert broken is not None and (broken.event_id, broken.seq) == (103, 3)
    assert broken.problem == "event hash" and broken.found == events[2].hash
    assert broken.expected == link_hash(events[2], events[1].hash or "")


def test_a_rehashed_edit_breaks_at_the_next_event() -> None:
    events, head = chain(5)
    edited = replace(events[1], kind="ended")
    events[1] = replace(edited, hash=link_hash(edited, events[0].hash or ""))
    _, broken = verify(7, events, head)
    assert broken is not None and broken.event_id == 103 and broken.problem == "previous hash"


def test_deleted_events_in_the_middle_and_at_the_end_are_caught() -> None:
    events, head = chain(5)
    _, broken = verify(7, events[:2] + events[3:], head)
    assert broken is not None and broken.event_id == 104 and broken.problem == "sequence"
    _, broken = verify(7, events[:4], head)
    assert broken is not None and broken.event_id is None and broken.problem == "chain head"
    assert broken.expected.startswith("5 events") and broken.found.startswith("4 events")


def test_an_inserted_event_is_caught() -> None:
    events, head = chain(3)
    forged = replace(events[1], id=150, seq=3, prev_hash=events[1].hash)
    forged = replace(forged, hash=link_hash(forged, events[1].hash or ""))
    tampered = [events[0], events[1], forged, events[2]]
    _, broken = verify(7, tampered, head)
    assert broken is not None and broken.event_id == 103 and broken.problem == "sequence"
    assert "event 103 (seq 3)" in broken.message()

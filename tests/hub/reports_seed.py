"""A small known set of hearings, register rows (petitions), history and alerts for the report
tests, in the third quarter of 2026, and the figures of that quarter worked out by hand.

Offices: TOP (a province), CHILD (an office under it with a bridge point), LEAF (another office
of its subtree), OUTSIDE (another province) and ABOVE (the central office). The comments by
each record say where it counts; EXPECTED_TOP_Q3 holds the sums made from those comments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from hub.domain.hearings import HearingDraft, HearingKind
from hub.domain.petitions import PetitionDraft, PetitionType, Source
from hub.domain.sessionlog import LogKind
from hub.services import deadlines, hearings, petitions, sessionlog
from hub.services.access import Actor
from hub.storage.db import Database
from hub.storage.tables import AlertRow, HearingRow, PetitionHistoryRow, PetitionRow
from tests.hub.client import VN

PERIOD = "2026-Q3"


@dataclass(frozen=True)
class Offices:
    """Office ids by their part in the seed."""

    top: int
    child: int
    leaf: int
    outside: int
    above: int


@dataclass(frozen=True)
class Actors:
    """Who registers what: staff of TOP, staff of OUTSIDE, an admin of ABOVE."""

    top: Actor
    outside: Actor
    above: Actor


def at(day: str, hour: int = 8, minute: int = 0) -> datetime:
    """A moment in Vietnam's time on an ISO day."""
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=VN)


async def _petition(
    session: Any,
    actor: Actor,
    office: int,
    type_: PetitionType,
    received: str,
    *,
    source: Source = Source.IN_PERSON,
    subject: str = "",
    people: int = 1,
    national: str | None = None,
    deadline: str | None = None,
    moves: tuple[tuple[str, str], ...] = (),
) -> int:
    crowd = people >= 5
    row = await petitions.create(
        session,
        actor,
        PetitionDraft(
            type=type_,
            office_id=office,
            petitioner_name="Nguyễn Văn Thử",
            content="Nội dung đơn thử cho báo cáo.",
            received_on=date.fromisoformat(received),
            source=source,
            crowd=crowd,
            people_count=people,
            subject_field=subject,
            national_code=national,
            handling_deadline=date.fromisoformat(deadline) if deadline else None,
        ),
    )
    for status, when in moves:
        changes = (
            {"competent_body": "Sở Tài nguyên và Môi trường"} if status == "transferred" else {}
        )
        await petitions.update(session, actor, row.id, changes, status=status)
        latest = (
            await session.execute(
                select(PetitionHistoryRow)
                .where(PetitionHistoryRow.petition_id == row.id)
                .order_by(PetitionHistoryRow.id.desc())
                .limit(1)
            )
        ).scalar_one()
        latest.at = at(when, 10)
    # The deadline each record's comment names, as if typed in: hub.services.deadlines would
    # otherwise count one from its rules (an intake deadline for P4, a new one for P1 when it
    # is accepted), and the figures below are worked out from the comments.
    stored = await session.get(PetitionRow, row.id)
    stored.handling_deadline = date.fromisoformat(deadline) if deadline else None
    stored.deadline_rule = deadlines.MANUAL if deadline else deadlines.NO_RULE
    await session.flush()
    return int(row.id)


async def _hearing(
    session: Any,
    actor: Actor,
    host: int,
    kind: HearingKind,
    starts: datetime,
    *,
    sites: tuple[int, ...] = (),
    status: str = "ended",
    joined: tuple[int, ...] = (),
    dropped: tuple[int, ...] = (),
) -> int:
    (row,) = await hearings.create(
        session,
        actor,
        HearingDraft(
            title="Phiên thử cho báo cáo",
            kind=kind,
            host_office_id=host,
            site_office_ids=sites,
            starts_at=starts,
            ends_at=starts.replace(hour=min(starts.hour + 2, 23)),
        ),
    )
    if status != "scheduled":
        row.status = status
    if status in ("live", "ended"):
        row.started_at = starts
    if status == "ended":
        row.ended_at = row.ends_at
    for office in joined:
        await sessionlog.append(session, row.id, LogKind.PARTICIPANT_JOINED, office_id=office)
    for office in dropped:
        await sessionlog.append(session, row.id, LogKind.PARTICIPANT_DROPPED, office_id=office)
    await session.flush()
    return int(row.id)


async def seed(db: Database, o: Offices, a: Actors) -> dict[str, int]:
    """Write the records; their ids by name (P0-P10, H1-H8)."""
    ids: dict[str, int] = {}
    C, D, R, F, M = (
        PetitionType.COMPLAINT,
        PetitionType.DENUNCIATION,
        PetitionType.RECOMMENDATION,
        PetitionType.FEEDBACK,
        PetitionType.MIXED,
    )
    async with db.transaction() as s:
        # ABOVE, March: outside the subtree and the quarter; makes QG-2 a repeated matter.
        ids["P0"] = await _petition(s, a.above, o.above, C, "2026-03-01", national="QG-2")
        # In person, July: regular visit, new case (QG-1 seen nowhere before); accepted only:
        # overdue (deadline 4 August).
        ids["P1"] = await _petition(
            s, a.top, o.top, C, "2026-07-05", subject="Đất đai", national="QG-1",
            deadline="2026-08-04", moves=(("accepted", "2026-07-10"),),
        )  # fmt: skip
        # A crowd of 12 in person, August, at CHILD: a regular visit and a crowd delegation,
        # repeated case (QG-2 was received in March); resolved before its deadline.
        ids["P2"] = await _petition(
            s, a.top, o.child, D, "2026-08-12", subject="Đất đai", people=12, national="QG-2",
            deadline="2026-09-12", moves=(("accepted", "2026-08-15"), ("resolved", "2026-09-01")),
        )  # fmt: skip
        # By post, September: no visit; filed only on 5 October, after the quarter: overdue
        # at its end (deadline 29 September).
        ids["P3"] = await _petition(
            s, a.top, o.child, R, "2026-09-20", source=Source.POST, subject="Môi trường",
            deadline="2026-09-29", moves=(("filed", "2026-10-05"),),
        )  # fmt: skip
        # In person on the quarter's first day at LEAF, no subject, no deadline: a regular visit
        # (and heard in the regular hearing H3: a second visit, the same case).
        ids["P4"] = await _petition(s, a.top, o.leaf, F, "2026-07-01")
        # In person on 30 June: before the quarter (not received in it), but heard in H1 (a
        # leaders' visit, repeated case); still received: overdue (deadline 15 July).
        ids["P5"] = await _petition(
            s, a.top, o.top, C, "2026-06-30", subject="Đất đai", deadline="2026-07-15"
        )
        # 2 October: after the quarter; its deadline too.
        ids["P6"] = await _petition(s, a.top, o.top, C, "2026-10-02", deadline="2026-10-10")
        # OUTSIDE: in the quarter, overdue, but another province's.
        ids["P7"] = await _petition(s, a.outside, o.outside, C, "2026-07-10", deadline="2026-07-20")
        # A crowd of 6 online, July, transferred; heard in H2: a leaders' visit, new case.
        ids["P8"] = await _petition(
            s, a.top, o.top, M, "2026-07-20", source=Source.ONLINE, subject="Đất đai", people=6,
            moves=(("transferred", "2026-07-25"),),
        )  # fmt: skip
        # By post on the quarter's last day, deadline that same day: overdue at the end.
        ids["P9"] = await _petition(
            s, a.top, o.top, C, "2026-09-30", source=Source.POST, subject="Đất đai",
            deadline="2026-09-30",
        )  # fmt: skip
        # By post, August; returned after its deadline but before the quarter ended: final,
        # so not overdue at the end.
        ids["P10"] = await _petition(
            s, a.top, o.top, F, "2026-08-01", source=Source.POST, subject="Xây dựng",
            deadline="2026-08-10", moves=(("returned", "2026-08-20"),),
        )  # fmt: skip

        P, A, G = HearingKind.PERIODIC, HearingKind.ADHOC, HearingKind.REGULAR
        # Held, online (CHILD invited): TOP and CHILD joined (CHILD twice), CHILD dropped once.
        ids["H1"] = await _hearing(
            s, a.top, o.top, P, at("2026-07-15"), sites=(o.child,),
            joined=(o.top, o.child, o.child), dropped=(o.child,),
        )  # fmt: skip
        # Held at CHILD in person (no sites); CHILD's own point joined.
        ids["H2"] = await _hearing(s, a.top, o.child, A, at("2026-08-20", 14), joined=(o.child,))
        # A regular reception started late on the quarter's last day, still live.
        ids["H3"] = await _hearing(
            s, a.top, o.top, G, at("2026-09-30", 21, 30), status="live", joined=(o.top,)
        )
        # Scheduled in the quarter, never started: not held.
        ids["H4"] = await _hearing(
            s, a.top, o.top, P, at("2026-08-01"), sites=(o.child,), status="scheduled"
        )
        # Started at midnight after the quarter: not in it.
        ids["H5"] = await _hearing(
            s, a.top, o.top, A, at("2026-10-01", 0), sites=(o.child,), joined=(o.child,)
        )
        # OUTSIDE's, in the quarter, in person.
        ids["H6"] = await _hearing(
            s, a.outside, o.outside, P, at("2026-07-15"), joined=(o.outside,)
        )
        # ABOVE's, inviting TOP, which joined: held above the subtree, not by it.
        ids["H7"] = await _hearing(
            s, a.above, o.above, P, at("2026-07-15"), sites=(o.top,), joined=(o.above, o.top)
        )
        # Cancelled.
        ids["H8"] = await _hearing(s, a.top, o.top, A, at("2026-08-05"), status="cancelled")

        heard = [("H1", "P5"), ("H2", "P8"), ("H2", "P2"), ("H3", "P4"), ("H5", "P6")]
        for hearing, petition in heard:
            starts = (await s.get(HearingRow, ids[hearing])).starts_at
            await hearings.link_petition(
                s, a.top, ids[hearing], ids[petition], heard_from=starts, heard_to=starts
            )
        # Linked to H1 but never heard there: no visit.
        await hearings.link_petition(s, a.top, ids["H1"], ids["P1"])

        alerts = [
            ("site_offline", o.child, ids["H1"], at("2026-07-15", 9)),  # in, during H1
            ("site_degraded", o.top, None, at("2026-09-01")),  # in
            ("site_offline", o.top, None, at("2026-06-30", 23, 59)),  # before the quarter
            ("site_offline", o.outside, None, at("2026-07-20")),  # another province
            ("self_test_failed", o.child, None, at("2026-09-30", 23, 59)),  # in, last minute
        ]
        for kind, office, hearing_id, opened in alerts:
            s.add(
                AlertRow(
                    kind=kind,
                    office_id=office,
                    hearing_id=hearing_id,
                    opened_at=opened,
                    closed_at=opened + timedelta(minutes=5),
                    detail={},
                    open_key=None,
                )
            )
    return ids


_ZERO_STATUS = {
    "received": 0,
    "accepted": 0,
    "transferred": 0,
    "returned": 0,
    "filed": 0,
    "suspended": 0,
    "resolved": 0,
}

# TOP's report for 2026-Q3, summed by hand from the comments above.
EXPECTED_TOP_Q3: dict[str, Any] = {
    "hearings": {
        # H1, H2, H3 (H4 never started, H5 after, H6 and H7 not TOP's, H8 cancelled).
        "held": 3,
        "online": 1,  # H1
        "in_person": 2,  # H2, H3
        "sites_connected": 4,  # H1: TOP, CHILD; H2: CHILD; H3: TOP
        "site_drops": 1,  # H1: CHILD
        "by_kind": {
            "periodic": {
                "held": 1,
                "online": 1,
                "in_person": 0,
                "sites_connected": 2,
                "site_drops": 1,
            },
            "adhoc": {
                "held": 1,
                "online": 0,
                "in_person": 1,
                "sites_connected": 1,
                "site_drops": 0,
            },
            "regular": {
                "held": 1,
                "online": 0,
                "in_person": 1,
                "sites_connected": 1,
                "site_drops": 0,
            },
        },
    },
    "connection_incidents": {
        "total": 3,
        "during_hearings": 1,
        "by_kind": {
            "site_offline": {"total": 1, "during_hearings": 1},
            "site_degraded": {"total": 1, "during_hearings": 0},
            "media_device_missing": {"total": 0, "during_hearings": 0},
            "self_test_failed": {"total": 1, "during_hearings": 0},
            "site_not_connected_at_start": {"total": 0, "during_hearings": 0},
        },
    },
    "reception": {
        # In person P1, P2 (12 people), P4; P4 again in H3. Matters: QG-1 new, QG-2 repeated
        # (March), P4 new.
        "regular": {"visits": 4, "people": 15, "cases_new": 2, "cases_repeated": 1},
        # P5 in H1 (received in June: repeated), P8 (6 people, new) and P2 (12, QG-2) in H2.
        "leaders": {"visits": 3, "people": 19, "cases_new": 1, "cases_repeated": 2},
    },
    "crowd_delegations": {
        "regular": {"delegations": 1, "people": 12, "cases_new": 0, "cases_repeated": 1},
        "leaders": {"delegations": 2, "people": 18, "cases_new": 1, "cases_repeated": 1},
    },
    "petitions": {
        # Received in the quarter in TOP's subtree: P1, P2, P3, P4, P8, P9, P10.
        "received": 7,
        "by_type": {
            "complaint": 2,
            "denunciation": 1,
            "recommendation": 1,
            "feedback": 2,
            "mixed": 1,
        },
        "by_status": {
            **_ZERO_STATUS,
            "received": 2,
            "accepted": 1,
            "transferred": 1,
            "returned": 1,
            "filed": 1,
            "resolved": 1,
        },
        "by_type_status": {
            "complaint": {**_ZERO_STATUS, "received": 1, "accepted": 1},  # P9, P1
            "denunciation": {**_ZERO_STATUS, "resolved": 1},  # P2
            "recommendation": {**_ZERO_STATUS, "filed": 1},  # P3
            "feedback": {**_ZERO_STATUS, "received": 1, "returned": 1},  # P4, P10
            "mixed": {**_ZERO_STATUS, "transferred": 1},  # P8
        },
        "by_subject": [
            {
                "subject_field": "Đất đai",
                "total": 4,  # P1, P9, P2, P8
                "by_type": {
                    "complaint": 2,
                    "denunciation": 1,
                    "recommendation": 0,
                    "feedback": 0,
                    "mixed": 1,
                },
            },
            {
                "subject_field": "Môi trường",
                "total": 1,  # P3
                "by_type": {
                    "complaint": 0,
                    "denunciation": 0,
                    "recommendation": 1,
                    "feedback": 0,
                    "mixed": 0,
                },
            },
            {
                "subject_field": "Xây dựng",
                "total": 1,  # P10
                "by_type": {
                    "complaint": 0,
                    "denunciation": 0,
                    "recommendation": 0,
                    "feedback": 1,
                    "mixed": 0,
                },
            },
            {
                "subject_field": "",
                "total": 1,  # P4
                "by_type": {
                    "complaint": 0,
                    "denunciation": 0,
                    "recommendation": 0,
                    "feedback": 1,
                    "mixed": 0,
                },
            },
        ],
        "crowd": 2,  # P2, P8
        "crowd_people": 18,
    },
    "overdue": {
        # At midnight after 30 September: P1 (accepted), P3 (filed only in October), P5
        # (received in June), P9 (deadline on the last day); not P2 (resolved in time), P10
        # (returned before the end), P6 (deadline in October), P7 (another province).
        "total": 4,
        "by_type": {
            "complaint": 3,
            "denunciation": 0,
            "recommendation": 1,
            "feedback": 0,
            "mixed": 0,
        },
        "as_of": "2026-10-01T00:00:00+07:00",
    },
    "due_week": {
        # Deadlines from 1 to 7 October, open at midnight after 30 September: none (P6's is
        # 10 October; the rest had passed). The July report finds P1 (4 August).
        "total": 0,
        "by_type": {
            "complaint": 0,
            "denunciation": 0,
            "recommendation": 0,
            "feedback": 0,
            "mixed": 0,
        },
        "first_day": "2026-10-01",
        "last_day": "2026-10-07",
    },
}

"""Export and import of the national database format on SQLite and PostgreSQL: a round trip
into an empty database gives the same records field by field, importing a file twice changes
nothing the second time, bad rows are refused with a reason per field while the rest import,
an incremental export takes only what changed, and an import stays in the importer's scope."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from hub.clock import now_local
from hub.config import Settings
from hub.domain.national_format import Record
from hub.domain.offices import OfficeDraft
from hub.domain.petitions import PetitionDraft, PetitionType, Source
from hub.domain.reception import ReceptionDraft, ReceptionHandling
from hub.services import national_export, national_import, offices, petitions, reception
from hub.storage.db import Database
from hub.storage.migrate import upgrade
from hub.storage.tables import (
    OfficeRow,
    PetitionHistoryRow,
    PetitionRow,
    ReceptionRow,
    SequenceRow,
)
from tests.fixtures_postgres import create_database, drop_database
from tests.hub.storage.conftest import TREE, Tree

TODAY = now_local().date()


@pytest.fixture
async def empty_db(
    db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Database]:
    """A second database on the same back end with the same office codes but other ids (an
    office of its own is made first), and no records."""
    name = None
    if db_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
    else:
        server = request.getfixturevalue("postgres_server")
        name, url = create_database(server, "tcd_empty")
    await upgrade(Settings(database_url=url))
    database = Database(url)
    async with database.transaction() as session:
        made: dict[str, OfficeRow] = {}
        await offices.create_office(
            session, None, OfficeDraft("XX", "Văn phòng khác", "central", None, True)
        )
        for code, office_name, level, parent, bridge in reversed_tree():
            made[code] = await offices.create_office(
                session,
                None,
                OfficeDraft(code, office_name, level, made[parent].id if parent else None, bridge),
            )
    try:
        yield database
    finally:
        await database.close()
        if name is not None:
            drop_database(request.getfixturevalue("postgres_server"), name)


def reversed_tree() -> list[tuple[str, str, str, str | None, bool]]:
    """TREE with the provinces in the other order, so that ids differ from the first database."""
    central, *rest = TREE
    bg = [t for t in rest if t[0] == "BG"]
    return [central, *bg, *(t for t in rest if t[0] != "BG")]


async def records(db: Database, tree: Tree) -> None:
    """A register with every kind of value: a national code or none, a crowd with
    representatives, a deadline, a status moved on; register rows with and without a petition."""
    hy, lachong = tree.office["HY"].id, tree.office["HY.VANLAM.LACHONG"].id
    async with db.transaction() as session:
        first = await petitions.create(
            session,
            tree.staff_hy,
            PetitionDraft(
                type=PetitionType.COMPLAINT,
                office_id=hy,
                petitioner_name="Nguyễn Văn Ấn",
                petitioner_address="Thôn Đình Dù, Văn Lâm",
                petitioner_id_number="033080001234",
                content='Khiếu nại quyết định thu hồi đất; "bồi thường", tái định cư\nnhiều dòng',
                received_on=TODAY - timedelta(days=20),
                subject_field="Đất đai",
                respondent="UBND huyện Văn Lâm",
                request="Xem xét lại",
                handling_deadline=TODAY + timedelta(days=10),
                national_code="CSDLQG-2026-0001",
            ),
        )
        await petitions.create(
            session,
            tree.staff_hy,
            PetitionDraft(
                type=PetitionType.RECOMMENDATION,
                office_id=lachong,
                petitioner_name="Trần Thị Bình",
                content="Kiến nghị về ô nhiễm môi trường",
                received_on=TODAY - timedelta(days=5),
                crowd=True,
                people_count=12,
                representatives=("Trần Thị Bình", "Lê Văn Cường; Phó"),
                source=Source.POST,
            ),
        )
        await petitions.update(
            session, tree.staff_hy, first.id, {"competent_body": "Sở Tài nguyên"}, status="accepted"
        )
        await reception.create(
            session,
            tree.staff_hy,
            ReceptionDraft(
                office_id=hy,
                received_on=TODAY - timedelta(days=20),
                petitioner_name="Nguyễn Văn Ấn",
                content="Trình bày việc thu hồi đất",
                type=PetitionType.COMPLAINT,
                handling=ReceptionHandling.ACCEPT,
                handled_before="UBND huyện Văn Lâm",
                follow_up="Đã thụ lý",
                petition_id=first.id,
            ),
        )
        await reception.create(
            session,
            tree.staff_hy,
            ReceptionDraft(
                office_id=lachong,
                received_on=TODAY - timedelta(days=2),
                petitioner_name="Nhóm hộ dân xã Lạc Hồng",
                content="Phản ánh đông người",
                type=PetitionType.FEEDBACK,
                handling=ReceptionHandling.RETURN_WITH_GUIDANCE,
                crowd=True,
                people_count=6,
                notes="Hướng dẫn gửi đơn đến UBND xã",
                national_code="TCD-QG-77",
            ),
        )


async def export_text(db: Database, fmt: str, since: date | None = None) -> str:
    async with db.transaction() as session:
        rows = await national_export.collect(session, None, since)
    if fmt == "json":
        return json.dumps(national_export.to_json(rows, None, since), ensure_ascii=False)
    return national_export.to_csv(rows)


async def run_import(db: Database, data: str | bytes, actor: Any = None) -> dict[str, Any]:
    raw = data.encode() if isinstance(data, str) else data
    async with db.transaction() as session:
        return await national_import.import_rows(session, national_import.read_file(raw), actor)


async def stored(db: Database) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Every petition by case code and register row by national code, every column but ids,
    who made them and when; offices by code, linked petitions by case code."""
    async with db.transaction() as session:
        codes = {o.id: o.code for o in (await session.execute(select(OfficeRow))).scalars()}
        cases = {p.id: p.case_code for p in (await session.execute(select(PetitionRow))).scalars()}
        # The hub's own bookkeeping, not part of a national record: who and when, and how the
        # deadline was set (an imported deadline is kept as typed in; hub.services.deadlines).
        own = (
            "id",
            "created_by",
            "created_at",
            "updated_at",
            "deadline_rule",
            "deadline_started_on",
            "deadline_extensions",
        )
        out_p = {}
        for p in (await session.execute(select(PetitionRow))).scalars():
            values = {
                c.name: getattr(p, c.name) for c in PetitionRow.__table__.c if c.name not in own
            }
            values["office_id"] = codes[p.office_id]
            out_p[p.case_code] = values
        out_r = {}
        for r in (await session.execute(select(ReceptionRow))).scalars():
            values = {
                c.name: getattr(r, c.name) for c in ReceptionRow.__table__.c if c.name not in own
            }
            values["office_id"] = codes[r.office_id]
            values["petition_id"] = cases.get(r.petition_id) if r.petition_id else None
            out_r[r.national_code] = values
    return out_p, out_r


def without_stamp(document: str, fmt: str) -> Any:
    """A file's rows without when it was written and when each row was last changed."""
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(document, newline="")))
        for row in rows:
            row.pop("updated_at")
        return rows
    parsed = json.loads(document)
    parsed.pop("exported_at")
    for rows in (parsed["petitions"], parsed["reception_register"]):
        for row in rows:
            row.pop("updated_at")
    return parsed


@pytest.mark.parametrize("fmt", ["json", "csv"])
async def test_export_then_import_into_an_empty_database_gives_the_same_records(
    db: Database, tree: Tree, empty_db: Database, fmt: str
) -> None:
    await records(db, tree)
    document = await export_text(db, fmt)
    report = await run_import(empty_db, document)
    assert report["refused"] == []
    assert (report["created"], report["updated"], report["unchanged"]) == (4, 0, 0)
    assert report["by_record"]["petition"]["created"] == 2
    assert report["by_record"]["reception"]["created"] == 2

    source_p, source_r = await stored(db)
    copy_p, copy_r = await stored(empty_db)
    assert set(copy_p) == set(source_p) and len(source_p) == 2
    for code, values in source_p.items():
        for name, value in values.items():
            assert copy_p[code][name] == value, (code, name)
    assert set(copy_r) == set(source_r) and len(source_r) == 2
    for code, values in source_r.items():
        for name, value in values.items():
            assert copy_r[code][name] == value, (code, name)
    # The hub's own code for a register row it made, and the link to the petition, survive.
    assert any(code.startswith("HY-TCD-") for code in copy_r)
    first_case = next(c for c, v in copy_p.items() if v["national_code"] == "CSDLQG-2026-0001")
    assert {v["petition_id"] for v in copy_r.values()} == {None, first_case}
    # Exported again from the copy, the file is the same (but for when it was written).
    again = await export_text(empty_db, fmt)
    assert without_stamp(again, fmt) == without_stamp(document, fmt)


async def test_importing_the_same_file_twice_changes_nothing_the_second_time(
    db: Database, tree: Tree, empty_db: Database
) -> None:
    await records(db, tree)
    document = await export_text(db, "json")
    first = await run_import(empty_db, document)
    assert first["created"] == 4
    async with empty_db.transaction() as session:
        before = await _snapshot(session)
    second = await run_import(empty_db, document)
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 4)
    assert second["refused"] == []
    async with empty_db.transaction() as session:
        assert await _snapshot(session) == before
    # The source database takes its own file back as unchanged too.
    assert (await run_import(db, document))["unchanged"] == 4


async def _snapshot(session: Any) -> dict[str, Any]:
    return {
        "history": (
            await session.execute(select(func.count()).select_from(PetitionHistoryRow))
        ).scalar_one(),
        "petitions": sorted(
            (p.case_code, p.updated_at)
            for p in (await session.execute(select(PetitionRow))).scalars()
        ),
        "register": sorted(
            (r.national_code, r.updated_at)
            for r in (await session.execute(select(ReceptionRow))).scalars()
        ),
    }


async def test_a_changed_row_is_updated_and_its_status_change_is_in_the_history(
    db: Database, tree: Tree, empty_db: Database
) -> None:
    await records(db, tree)
    document = json.loads(await export_text(db, "json"))
    await run_import(empty_db, json.dumps(document))
    document["petitions"][0]["status"] = "resolved"
    document["petitions"][0]["content"] = "Nội dung đã được cơ sở dữ liệu quốc gia cập nhật"
    document["reception_register"][1]["follow_up"] = "Công dân đã gửi đơn đến xã"
    report = await run_import(empty_db, json.dumps(document))
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 2, 2)
    async with empty_db.transaction() as session:
        row = (
            await session.execute(
                select(PetitionRow).where(PetitionRow.national_code == "CSDLQG-2026-0001")
            )
        ).scalar_one()
        assert row.status == "resolved" and row.content.startswith("Nội dung đã")
        assert "co so du lieu quoc gia" in row.search_text
        history = (
            await session.execute(
                select(
                    PetitionHistoryRow.from_status,
                    PetitionHistoryRow.to_status,
                    PetitionHistoryRow.note,
                )
                .where(PetitionHistoryRow.petition_id == row.id)
                .order_by(PetitionHistoryRow.id)
            )
        ).all()
        assert [tuple(h) for h in history] == [
            (None, "accepted", national_import.IMPORT_NOTE),
            ("accepted", "resolved", national_import.IMPORT_NOTE),
        ]


def _good_petition(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "national_code": "QG-OK-1",
        "case_code": None,
        "office": "HY",
        "type": "complaint",
        "status": "received",
        "source": "in_person",
        "received_on": "2026-11-02",
        "handling_deadline": None,
        "petitioner_name": "Công dân hợp lệ",
        "content": "Nội dung hợp lệ",
    }
    row.update(changes)
    return row


async def test_bad_rows_are_refused_with_reasons_and_the_rest_import(
    db: Database, tree: Tree
) -> None:
    document = {
        "format": "tcd-hub-national",
        "version": 1,
        "petitions": [
            _good_petition(),
            _good_petition(national_code="QG-BAD-ENUM", type="khieu_nai", source="fax"),
            _good_petition(national_code="QG-BAD-DATE", received_on="2026-13-40"),
            _good_petition(national_code=None, case_code=None),
            _good_petition(national_code="QG-BAD-OFFICE", office="ZZ", case_code="ZZ-2031-000777"),
            _good_petition(national_code="QG-BAD-CROWD", people_count=7),
            _good_petition(national_code="QG-BAD-FIELD", colour="red"),
            _good_petition(national_code="QG-OK-2", case_code="HY-2031-000050"),
        ],
        "reception_register": [
            {
                "national_code": "TCD-OK-1",
                "office": "HY.VANLAM",
                "received_on": "2026-11-03",
                "petitioner_name": "Người được tiếp",
                "content": "Nội dung",
                "type": "feedback",
                "handling": "transfer",
                "petition_national_code": "QG-OK-1",
            },
            {
                "office": "HY",
                "received_on": "2026-11-03",
                "petitioner_name": "Không có mã",
                "content": "Nội dung",
                "type": "feedback",
                "handling": "accept",
            },
            {
                "national_code": "TCD-BAD-2",
                "office": "HY",
                "received_on": "03/11/2026",
                "petitioner_name": "Sai ngày và hướng xử lý",
                "content": "Nội dung",
                "type": "feedback",
                "handling": "ignore",
                "petition_case_code": "HY-1999-000001",
            },
        ],
    }
    async with db.transaction() as session:
        sequences_before = (
            await session.execute(select(SequenceRow.name, SequenceRow.value))
        ).all()
    report = await run_import(db, json.dumps(document))
    assert (report["created"], report["updated"], report["unchanged"]) == (3, 0, 0)
    refused = {r["row"]: r["reasons"] for r in report["refused"]}
    assert refused == {
        "petitions[1]": {
            "type": "'khieu_nai' is not one of: complaint, denunciation, recommendation, "
            "feedback, mixed",
            "source": "'fax' is not one of: in_person, post, transferred, national_assembly, "
            "fatherland_front, online, other",
        },
        "petitions[2]": {"received_on": "'2026-13-40' is not a date (YYYY-MM-DD)"},
        "petitions[3]": {
            "national_code": "missing: a petition needs national_code or case_code (its key)"
        },
        "petitions[4]": {"office": "unknown office 'ZZ'"},
        "petitions[5]": {
            "crowd": "5 or more people on one matter is a crowd case: set crowd to true"
        },
        "petitions[6]": {"colour": "unknown field"},
        "reception_register[1]": {"national_code": "missing"},
        "reception_register[2]": {
            "received_on": "'03/11/2026' is not a date (YYYY-MM-DD)",
            "handling": "'ignore' is not one of: accept, return_with_guidance, transfer",
            "petition_case_code": "no petition here has case code HY-1999-000001",
        },
    }
    assert {r["key"] for r in report["refused"]} >= {"QG-BAD-ENUM", "QG-BAD-DATE", "TCD-BAD-2"}
    async with db.transaction() as session:
        kept = set((await session.execute(select(PetitionRow.national_code))).scalars())
        assert kept == {"QG-OK-1", "QG-OK-2"}
        register = (await session.execute(select(ReceptionRow))).scalars().all()
        assert [r.national_code for r in register] == ["TCD-OK-1"]
        linked = await session.get(PetitionRow, register[0].petition_id)
        assert linked is not None and linked.national_code == "QG-OK-1"
        # Nothing of a refused row was written: no history, no counter moved for ZZ-2031.
        history = (
            await session.execute(select(func.count()).select_from(PetitionHistoryRow))
        ).scalar_one()
        assert history == 2
        sequences = dict((await session.execute(select(SequenceRow.name, SequenceRow.value))).all())
        assert "ZZ-2031" not in sequences
        # The imported case code moved its office-year's counter past it.
        assert sequences["HY-2031"] == 50 and sequences.get("HY-2026") == 1
        assert dict(sequences_before).items() <= {**sequences, **dict(sequences_before)}.items()
    # The next petition registered at Hưng Yên for 2031 does not take the imported code.
    async with db.transaction() as session:
        made = await petitions.create(
            session,
            tree.staff_hy,
            PetitionDraft(
                type=PetitionType.FEEDBACK,
                office_id=tree.office["HY"].id,
                petitioner_name="Người sau",
                content="Đơn mới",
                received_on=date(2031, 1, 2),
            ),
        )
        assert made.case_code == "HY-2031-000051"


async def test_a_csv_file_with_bad_rows_refuses_those_by_line(db: Database, tree: Tree) -> None:
    await records(db, tree)
    document = await export_text(db, "csv")
    lines = document.splitlines()
    header = lines[0].split(",")
    bad = dict.fromkeys(header, "")
    bad.update(
        record="petition",
        national_code="QG-CSV",
        office="HY",
        type="complaint",
        status="received",
        source="in_person",
        received_on="2026-02-30",
        petitioner_name="A",
        content="B",
        crowd="yes",
        people_count="two",
    )
    unknown = dict.fromkeys(header, "")
    unknown.update(record="visit")
    text_ = document + "".join(",".join(row[h] for h in header) + "\r\n" for row in (bad, unknown))
    async with db.transaction() as session:
        await session.execute(text("DELETE FROM reception_register"))
    report = await run_import(db, text_)
    assert report["unchanged"] == 2 and report["created"] == 2
    refused = {r["row"]: r["reasons"] for r in report["refused"]}
    assert refused == {
        f"line {len(lines) + 1}": {
            "received_on": "'2026-02-30' is not a date (YYYY-MM-DD)",
            "crowd": "'yes' is not true or false",
            "people_count": "'two' is not a whole number",
        },
        f"line {len(lines) + 2}": {"record": "'visit' is not one of: petition, reception"},
    }


async def test_a_file_that_is_not_the_format_is_refused_whole(db: Database, tree: Tree) -> None:
    for data, field in (
        (b'{"format": "other"}', "format"),
        (b'{"format": "tcd-hub-national", "version": 9}', "version"),
        (b"a,b\r\n1,2\r\n", "record"),
        (b"record,colour\r\npetition,red\r\n", "colour"),
        (b"\xff\xfe", "file"),
    ):
        with pytest.raises(national_import.FileRefused) as refused:
            national_import.read_file(data)
        assert field in refused.value.fields


async def test_an_incremental_export_takes_only_what_changed_since_the_day(
    db: Database, tree: Tree
) -> None:
    await records(db, tree)
    async with db.transaction() as session:
        long_ago = now_local().replace(year=2025, month=1, day=1)
        await session.execute(update(PetitionRow).values(updated_at=long_ago))
        await session.execute(update(ReceptionRow).values(updated_at=long_ago))
        first = (
            (await session.execute(select(PetitionRow).order_by(PetitionRow.id))).scalars().first()
        )
        assert first is not None
        await petitions.update(session, tree.staff_hy, first.id, {"request": "Xem xét lại gấp"})
    async with db.transaction() as session:
        recent = await national_export.collect(session, None, TODAY)
        everything = await national_export.collect(session, None, date(2025, 1, 1))
        hy_only = await national_export.collect(session, tree.office["HY.VANLAM"], None)
    assert [r["case_code"] for r in recent[Record.PETITION]] == [first.case_code]
    assert recent[Record.RECEPTION] == []
    assert len(everything[Record.PETITION]) == 2 and len(everything[Record.RECEPTION]) == 2
    # Văn Lâm's subtree holds the commune's petition and register row only.
    assert {r["office"] for r in hy_only[Record.PETITION]} == {"HY.VANLAM.LACHONG"}
    assert {r["office"] for r in hy_only[Record.RECEPTION]} == {"HY.VANLAM.LACHONG"}


async def test_an_import_stays_in_the_importers_scope(db: Database, tree: Tree) -> None:
    await records(db, tree)
    document = json.loads(await export_text(db, "json"))
    document["petitions"][0]["content"] = "Sửa từ Bắc Giang"
    report = await run_import(db, json.dumps(document), tree.staff_bg)
    assert report["created"] == report["updated"] == report["unchanged"] == 0
    reasons = [r["reasons"] for r in report["refused"]]
    assert len(reasons) == 4
    assert all(r.get("office", "").startswith("unknown office 'HY") for r in reasons)

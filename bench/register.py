"""The synthetic petition register `tcd-hub bench api` searches: realistic Vietnamese names,
places and subjects in the shares of a real register, bulk-loaded into SQLite."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from sqlalchemy import delete, func, insert, select, text

from hub.config import Settings
from hub.domain.petitions import (
    PetitionDraft,
    PetitionStatus,
    PetitionType,
    Source,
    fold,
    max_representatives,
)
from hub.services.petitions import personal_parts, personal_text, search_parts, search_text
from hub.storage.db import Database
from hub.storage.tables import Base, OfficeRow, PetitionRow, SequenceRow, UserRow

# A fixed seed: every run seeds the same register and sends the same requests.
SEED = 20261122
BATCH = 5000
# The register covers three years; a petition is entered up to this many days after it came.
SPAN_DAYS = 3 * 365
ENTRY_DELAY_DAYS = 3

# Surnames with roughly their share of the population, then a few rare ones to search for.
SURNAMES = [
    ("Nguyễn", 380),
    ("Trần", 110),
    ("Lê", 95),
    ("Phạm", 70),
    ("Hoàng", 50),
    ("Huỳnh", 40),
    ("Phan", 45),
    ("Vũ", 39),
    ("Võ", 30),
    ("Đặng", 21),
    ("Bùi", 20),
    ("Đỗ", 14),
    ("Hồ", 13),
    ("Ngô", 13),
    ("Dương", 10),
    ("Lý", 5),
    ("Khúc", 1),
    ("Âu Dương", 1),
]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quang", "Thu", "Xuân", "Công"]
GIVEN = [
    "An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng",
    "Hương", "Khánh", "Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Nga", "Ngọc", "Phong",
    "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Thắng", "Thủy", "Trang", "Trung", "Tuấn", "Vân",
    "Việt", "Yến",
]  # fmt: skip

# Place names per province code: (province, districts, communes or hamlets).
PLACES: dict[str, tuple[str, list[str], list[str]]] = {
    "TW": (
        "Hà Nội",
        ["Ba Đình", "Hà Đông", "Cầu Giấy", "Đông Anh"],
        ["Kim Mã", "Văn Quán", "Dịch Vọng", "Uy Nỗ"],
    ),
    "HY": (
        "Hưng Yên",
        ["Văn Lâm", "Văn Giang", "Phố Hiến"],
        ["Đình Dù", "Lạc Hồng", "Như Quỳnh", "Minh Hải"],
    ),
    "BG": (
        "Bắc Giang",
        ["Lục Ngạn", "Yên Thế"],
        ["Tân Sơn", "Phượng Sơn", "Biển Động", "Kiên Lao"],
    ),
    "HP": ("Hải Phòng", ["Lê Chân", "An Dương"], ["Hàng Kênh", "Dư Hàng", "Vĩnh Niệm"]),
    "TN": ("Tây Ninh", ["Tân Biên", "Châu Thành"], ["Tân Lập", "Thạnh Bắc", "Thạnh Tây"]),
}

# Subject field -> (content templates, requests, respondents).
SUBJECTS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "Đất đai": (
        [
            "Khiếu nại quyết định thu hồi {n} m² đất nông nghiệp tại {place} và phương án bồi "
            "thường, hỗ trợ tái định cư chưa thỏa đáng.",
            "Đề nghị cấp giấy chứng nhận quyền sử dụng đất cho thửa đất số {n}, tờ bản đồ số {m} "
            "tại {place}; hồ sơ nộp từ năm {year} chưa được giải quyết.",
            "Tranh chấp ranh giới đất với hộ liền kề tại {place}, đã hòa giải ở cơ sở không thành.",
        ],
        ["Xem xét lại mức bồi thường", "Cấp giấy chứng nhận quyền sử dụng đất"],
        ["UBND huyện {district}", "UBND xã {place}", "Văn phòng đăng ký đất đai"],
    ),
    "Môi trường": (
        [
            "Phản ánh ô nhiễm môi trường, khói bụi và nước thải từ cụm công nghiệp gần {place} "
            "ảnh hưởng sức khỏe của {n} hộ dân.",
            "Kiến nghị di dời bãi rác tự phát tại {place}, gây mùi hôi kéo dài.",
        ],
        ["Kiểm tra, xử lý cơ sở gây ô nhiễm", "Di dời bãi rác"],
        ["Công ty TNHH Môi trường {place}", "Sở Tài nguyên và Môi trường"],
    ),
    "Chính sách xã hội": (
        [
            "Kiến nghị xem xét chế độ người có công với cách mạng cho gia đình tại {place}.",
            "Đề nghị giải quyết trợ cấp bảo trợ xã hội cho người cao tuổi, hồ sơ từ năm {year}.",
        ],
        ["Giải quyết chế độ chính sách", "Xét trợ cấp"],
        ["Phòng Lao động - Thương binh và Xã hội huyện {district}"],
    ),
    "Cán bộ, công chức": (
        [
            "Tố cáo cán bộ địa chính xã {place} có hành vi nhũng nhiễu, gây phiền hà khi giải "
            "quyết hồ sơ của người dân.",
            "Tố cáo chủ tịch UBND xã {place} thiếu trách nhiệm, chậm trả lời đơn của công dân.",
        ],
        ["Xử lý nghiêm cán bộ vi phạm"],
        ["UBND xã {place}", "Chủ tịch UBND xã {place}"],
    ),
    "Xây dựng": (
        [
            "Phản ánh việc xây dựng trái phép, lấn chiếm hành lang giao thông tại {place}.",
            "Khiếu nại việc cưỡng chế tháo dỡ công trình phụ của gia đình tại {place}.",
        ],
        ["Đình chỉ công trình vi phạm", "Hủy quyết định cưỡng chế"],
        ["UBND huyện {district}", "Thanh tra xây dựng"],
    ),
    "Lao động": (
        [
            "Khiếu nại doanh nghiệp nợ lương, không đóng bảo hiểm xã hội cho {n} công nhân tại "
            "khu công nghiệp {place}.",
        ],
        ["Buộc doanh nghiệp trả lương và đóng bảo hiểm"],
        ["Công ty cổ phần may {place}", "Liên đoàn Lao động tỉnh"],
    ),
    "Tư pháp": (
        [
            "Đề nghị xem xét lại bản án dân sự phúc thẩm số {n}/{year} theo thủ tục giám đốc thẩm.",
            "Khiếu nại việc chậm thi hành án dân sự đối với bản án số {n}/{year}.",
        ],
        ["Kháng nghị giám đốc thẩm", "Tổ chức thi hành án"],
        ["Chi cục Thi hành án dân sự huyện {district}", "Tòa án nhân dân tỉnh"],
    ),
}

TYPE_WEIGHTS = [
    (PetitionType.COMPLAINT, 40),
    (PetitionType.DENUNCIATION, 15),
    (PetitionType.RECOMMENDATION, 20),
    (PetitionType.FEEDBACK, 20),
    (PetitionType.MIXED, 5),
]
STATUS_WEIGHTS = [
    (PetitionStatus.RECEIVED, 15),
    (PetitionStatus.ACCEPTED, 20),
    (PetitionStatus.TRANSFERRED, 20),
    (PetitionStatus.RETURNED, 10),
    (PetitionStatus.FILED, 10),
    (PetitionStatus.SUSPENDED, 2),
    (PetitionStatus.RESOLVED, 23),
]
# Share of the register each office holds: the centre and the provinces most, communes least.
OFFICE_WEIGHTS = {"central": 20, "province": 14, "district": 6, "commune": 3}


@dataclass(frozen=True)
class Office:
    """An office of the demo tree as the generator needs it."""

    id: int
    code: str
    level: str
    path: str


class _FoldTable(dict[int, str]):
    """str.translate's table for search_text: each character to what fold() and the
    punctuation rule make of it, worked out the first time the character is seen."""

    def __missing__(self, code: int) -> str:
        folded = "".join(c if c.isalnum() else " " for c in fold(chr(code)))
        self[code] = folded
        return folded


class Folder:
    """The service's search_text and personal_text, a character at a time through one
    translate table: fold() and the punctuation rule map each character on its own, so this
    gives the same text (checked against the service's) many times faster."""

    def __init__(self) -> None:
        self.table = _FoldTable()

    def _folded(self, parts: list[str]) -> str:
        return " ".join(p for p in parts if p).translate(self.table)

    def search_text(self, draft: PetitionDraft, code: str, *, check: bool = False) -> str:
        """The folded search text of a petition, checked against the service's when asked."""
        text = self._folded(search_parts(draft, code))
        if check and text != search_text(draft, code):
            raise RuntimeError("bench search_text differs from the service's; update Folder")
        return text

    def personal_text(self, draft: PetitionDraft, *, check: bool = False) -> str:
        """The folded personal text of a petition, checked against the service's when asked."""
        text = self._folded(personal_parts(draft))
        if check and text != personal_text(draft):
            raise RuntimeError("bench personal_text differs from the service's; update Folder")
        return text


def _weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Iterator[Any]:
    values = [v for v, _ in pairs]
    weights = [w for _, w in pairs]
    while True:
        yield from rng.choices(values, weights, k=1024)


def _petitions(
    rng: random.Random, offices: list[Office], count: int, first_id: int, today: date
) -> Iterator[tuple[dict[str, Any], Office]]:
    """Rows of `petitions`, realistic enough for the planner and for search."""
    surnames = _weighted(rng, SURNAMES)
    types = _weighted(rng, TYPE_WEIGHTS)
    statuses = _weighted(rng, STATUS_WEIGHTS)
    office_pick = _weighted(rng, [(o, OFFICE_WEIGHTS.get(o.level, 3)) for o in offices])
    sources = list(Source)
    subjects = list(SUBJECTS)
    for n in range(count):
        office = next(office_pick)
        province, districts, places = PLACES[office.code.split(".")[0]]
        district, place = rng.choice(districts), rng.choice(places)
        name = f"{next(surnames)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        crowd = rng.random() < 0.06
        people = rng.randint(5, 60) if crowd else 1
        reps = tuple(
            f"{next(surnames)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
            for _ in range(rng.randint(1, max_representatives(people)) if crowd else 0)
        )
        subject = rng.choice(subjects)
        templates, requests, respondents = SUBJECTS[subject]
        # Petitions are registered as they arrive, so the register's ids (and its pages on
        # disk) follow the day received, give or take the days a letter waits to be entered.
        days_back = SPAN_DAYS - SPAN_DAYS * n // count + rng.randint(0, ENTRY_DELAY_DAYS)
        received = today - timedelta(days=min(SPAN_DAYS, days_back))
        fill = {
            "n": rng.randint(2, 900),
            "m": rng.randint(1, 60),
            "year": received.year - rng.randint(0, 6),
            "place": place,
            "district": district,
        }
        draft = PetitionDraft(
            type=next(types),
            office_id=office.id,
            petitioner_name=name,
            petitioner_address=f"Thôn {rng.randint(1, 12)}, xã {place}, huyện {district}, "
            f"tỉnh {province}",
            petitioner_id_number=f"0{rng.randint(10, 99)}{rng.randint(0, 10**9 - 1):09d}",
            content=rng.choice(templates).format(**fill),
            received_on=received,
            source=rng.choice(sources),
            crowd=crowd,
            people_count=people,
            representatives=reps,
            subject_field=subject,
            respondent=rng.choice(respondents).format(**fill),
            request=rng.choice(requests),
            handling_deadline=received + timedelta(days=rng.choice((30, 45, 60))),
            national_code=f"QG-{rng.randint(10**8, 10**9 - 1)}" if rng.random() < 0.3 else None,
        )
        stamp = datetime.combine(received, dtime(8, rng.randint(0, 59)), UTC)
        yield (
            {
                **draft.record(),
                "id": first_id + n,
                "status": str(next(statuses)),
                "created_at": stamp,
                "updated_at": stamp,
                "_draft": draft,
            },
            office,
        )


@dataclass
class Register:
    """What the generator hands out besides rows: case-code counters and ids by office path."""

    creator: int
    sequences: dict[str, int]
    by_path: dict[str, list[int]] = field(default_factory=dict)


Batch = tuple[list[dict[str, Any]], list[dict[str, Any]]]


def petition_batches(
    offices: list[Office], count: int, first_id: int, register: Register
) -> Iterator[Batch]:
    """Petition rows and their history rows, BATCH petitions at a time."""
    rng = random.Random(SEED)
    folder = Folder()
    creator = register.creator
    rows: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for row, office in _petitions(rng, offices, count, first_id, date.today()):
        key = f"{office.code}-{row['received_on'].year}"
        seq = register.sequences[key] = register.sequences.get(key, 0) + 1
        code = f"{key}-{seq:06d}"
        row["case_code"] = code
        draft = row.pop("_draft")
        row["search_text"] = folder.search_text(draft, code, check=not rows)
        row["personal_text"] = folder.personal_text(draft, check=not rows)
        row["created_by"] = creator
        rows.append(row)
        register.by_path.setdefault(office.path, []).append(row["id"])
        history.append(
            {
                "petition_id": row["id"],
                "at": row["created_at"],
                "from_status": None,
                "to_status": "received",
                "user_id": creator,
                "note": "",
            }
        )
        if row["status"] != "received":
            history.append(
                {
                    "petition_id": row["id"],
                    "at": row["created_at"] + timedelta(days=7),
                    "from_status": "received",
                    "to_status": row["status"],
                    "user_id": creator,
                    "note": "",
                }
            )
        if len(rows) >= BATCH:
            yield rows, history
            rows, history = [], []
    if rows:
        yield rows, history


async def seed_petitions(settings: Settings, count: int) -> dict[str, list[int]]:
    """Bulk-insert `count` petitions with their history; petition ids by office path."""
    db = Database.from_settings(settings)
    try:
        async with db.transaction() as session:
            offices = [
                Office(o.id, o.code, o.level, o.path)
                for o in (await session.execute(select(OfficeRow))).scalars()
            ]
            creator = (
                await session.execute(select(UserRow.id).where(UserRow.username == "staff"))
            ).scalar_one()
            first_id = int((await session.execute(select(func.max(PetitionRow.id)))).scalar() or 0)
            sequences = {
                s.name: s.value for s in (await session.execute(select(SequenceRow))).scalars()
            }
            register = Register(creator, sequences)
            # The indexes of a few hundred thousand rows outgrow SQLite's default 2 MB page
            # cache; random-order index inserts then go to the OS page by page.
            await session.execute(text("PRAGMA cache_size = -262144"))
            # Per-row FTS triggers make a bulk load ~10x slower than one rebuild afterwards, so
            # they are lifted for the load and put back exactly as the migration made them.
            triggers = (
                await session.execute(
                    text(
                        "SELECT name, sql FROM sqlite_master "
                        "WHERE type = 'trigger' AND tbl_name = 'petitions'"
                    )
                )
            ).all()
            for name, _sql in triggers:
                await session.execute(text(f'DROP TRIGGER "{name}"'))
            # Core executemany in batches; explicit ids, so history rows need no round trip.
            for rows, history in petition_batches(offices, count, first_id + 1, register):
                await session.execute(insert(Base.metadata.tables["petitions"]), rows)
                await session.execute(insert(Base.metadata.tables["petition_history"]), history)
            await session.execute(
                text("INSERT INTO petitions_fts(petitions_fts) VALUES ('rebuild')")
            )
            for _name, sql in triggers:
                await session.execute(text(sql))
            await session.execute(delete(SequenceRow).where(SequenceRow.name.in_(list(sequences))))
            await session.execute(
                insert(SequenceRow), [{"name": k, "value": v} for k, v in sequences.items()]
            )
    finally:
        await db.close()
    return register.by_path

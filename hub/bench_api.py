"""`tcd-hub bench api`: petition list, search and detail latency over HTTP on a seeded SQLite."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
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
from hub.seed import seed_demo
from hub.services.petitions import search_text
from hub.storage.db import Database
from hub.storage.migrate import upgrade
from hub.storage.tables import Base, OfficeRow, PetitionRow, SequenceRow, UserRow

# A fixed seed: every run seeds the same register and sends the same requests.
SEED = 20261122
BATCH = 5000
WARMUP = 5
PASSWORD = "bench"

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

# The list requests cycle through these, at offsets in the first eight pages, as a central and a
# province user: no filter, single filters, combinations, a rare combination, date ranges and an
# office (a district or commune within the user's scope). {dN} is N days ago.
LIST_FILTERS: list[dict[str, str]] = [
    {},
    {},
    {"type": "complaint"},
    {"status": "accepted"},
    {"crowd": "true"},
    {"type": "denunciation", "status": "received", "crowd": "false"},
    {"status": "suspended", "crowd": "true"},
    {"received_from": "{d90}", "received_to": "{d0}"},
    {"type": "feedback", "received_from": "{d365}", "received_to": "{d180}"},
    {"office": "{office}"},
    {"office": "{office}", "status": "resolved"},
    {"office": "{office}", "type": "recommendation", "received_from": "{d365}"},
]
# The searches: common words with and without diacritics, rare names, a case code, a word still
# being typed (one or two letters: the costliest prefixes) and text with filters.
SEARCHES: list[dict[str, str]] = [
    {"text": "đất"},
    {"text": "dat dai"},
    {"text": "Nguyễn"},
    {"text": "nguyen van"},
    {"text": "thu hồi đất"},
    {"text": "boi thuong"},
    {"text": "khúc"},
    {"text": "HY-2025-000123"},
    {"text": "âu dương"},
    {"text": "nhũng nhiễu"},
    {"text": "ng"},
    {"text": "tái đ"},
    {"text": "bảo hiểm", "type": "complaint"},
    {"text": "ô nhiễm", "crowd": "true"},
    {"text": "giám đốc thẩm", "received_from": "{d365}"},
    {"text": "Đình Dù"},
    {"text": "thanh"},
]


@dataclass(frozen=True)
class Office:
    """An office of the demo tree as the generator needs it."""

    id: int
    code: str
    level: str
    path: str


# ASCII punctuation to spaces, as the service's search_text does to every non-alphanumeric.
_ASCII_PUNCTUATION = str.maketrans(
    {chr(c): " " for c in range(128) if not chr(c).isalnum() and chr(c) != " "}
)


class Folder:
    """The service's search_text, word by word with a cache: fold() and the punctuation rule map
    each character on its own, so this gives the same text ~10x faster."""

    def __init__(self) -> None:
        self.words: dict[str, str] = {}

    def fold(self, word: str) -> str:
        """One space-free word as search_text folds it."""
        if word.isascii():
            return word.lower().translate(_ASCII_PUNCTUATION)
        folded = self.words.get(word)
        if folded is None:
            folded = "".join(c if c.isalnum() else " " for c in fold(word))
            self.words[word] = folded
        return folded

    def search_text(self, draft: PetitionDraft, code: str, *, check: bool = False) -> str:
        """The folded search text of a petition, checked against the service's when asked."""
        parts = (
            code,
            draft.national_code or "",
            draft.petitioner_name,
            draft.petitioner_address,
            draft.petitioner_id_number,
            draft.subject_field,
            draft.respondent,
            draft.content,
        )
        text = " ".join(self.fold(w) for w in " ".join(p for p in parts if p).split(" "))
        if check and text != search_text(draft, code):
            raise RuntimeError("bench search_text differs from the service's; update Folder")
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
        received = today - timedelta(days=rng.randint(0, 3 * 365))
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
                "id": first_id + n,
                "office_id": office.id,
                "type": str(draft.type),
                "status": str(next(statuses)),
                "source": str(draft.source),
                "petitioner_name": draft.petitioner_name,
                "petitioner_address": draft.petitioner_address,
                "petitioner_id_number": draft.petitioner_id_number,
                "crowd": draft.crowd,
                "people_count": draft.people_count,
                "representatives": list(draft.representatives),
                "subject_field": draft.subject_field,
                "respondent": draft.respondent,
                "content": draft.content,
                "request": draft.request,
                "competent_body": "",
                "received_on": draft.received_on,
                "handling_deadline": draft.handling_deadline,
                "national_code": draft.national_code,
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
        row["search_text"] = folder.search_text(row.pop("_draft"), code, check=not rows)
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


CPU_HEADER = "X-Bench-Server-Cpu-Ms"


@dataclass(frozen=True)
class Timing:
    """One timed request: wall time at the client, CPU time the server spent on it."""

    wall_ms: float
    server_cpu_ms: float
    request: str


def _percentile(sorted_ms: list[float], share: float) -> float:
    return sorted_ms[max(0, math.ceil(share * len(sorted_ms)) - 1)]


def _summary(timings: list[Timing]) -> dict[str, Any]:
    wall = sorted(t.wall_ms for t in timings)
    cpu = sorted(t.server_cpu_ms for t in timings)
    return {
        "p50_ms": round(_percentile(wall, 0.50), 2),
        "p95_ms": round(_percentile(wall, 0.95), 2),
        "max_ms": round(wall[-1], 2),
        "requests": len(timings),
        # CPU the server process spent per request: unlike wall time, other programs on the
        # machine barely move it, so it tells a slow query from a busy machine.
        "server_cpu_p50_ms": round(_percentile(cpu, 0.50), 2),
        "server_cpu_p95_ms": round(_percentile(cpu, 0.95), 2),
        "slowest": max(timings, key=lambda t: t.wall_ms).request,
        "most_cpu": max(timings, key=lambda t: t.server_cpu_ms).request,
    }


class Client:
    """Signed-in GETs against the hub, timed."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base
        self.tokens: dict[str, str] = {}

    async def login(self, username: str) -> None:
        """Sign in as `username` with the bench password."""
        async with self.http.post(
            f"{self.base}/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        ) as resp:
            body = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"sign-in as {username} failed: {body}")
            self.tokens[username] = body["token"]

    async def get(self, username: str, path: str) -> Timing:
        """GET `path` as `username`, timed; any answer but 200 is an error."""
        headers = {"Authorization": f"Bearer {self.tokens[username]}"}
        start = time.perf_counter()
        async with self.http.get(f"{self.base}{path}", headers=headers) as resp:
            raw = await resp.read()
        elapsed = (time.perf_counter() - start) * 1000
        if resp.status != 200:
            raise RuntimeError(f"GET {path} as {username}: {resp.status} {raw[:300]!r}")
        return Timing(elapsed, float(resp.headers.get(CPU_HEADER, "nan")), f"{username} {path}")


def _fill(params: dict[str, str], today: date, office: int) -> dict[str, str]:
    days = {f"{{d{d}}}": (today - timedelta(days=d)).isoformat() for d in (0, 90, 180, 365)}
    days["{office}"] = str(office)
    return {k: days.get(v, v) for k, v in params.items()}


async def _measure(client: Client, plan: list[tuple[str, str]]) -> list[Timing]:
    for username, path in plan[:WARMUP]:
        await client.get(username, path)
    return [await client.get(username, path) for username, path in plan]


def _plans(
    rng: random.Random, requests: int, by_path: dict[str, list[int]], offices: list[Office]
) -> dict[str, list[tuple[str, str]]]:
    today = date.today()
    central = next(o for o in offices if o.level == "central")
    hy = next(o for o in offices if o.code == "HY")
    users = [("staff", central), ("staff.hungyen", hy)]
    below = {u: [o for o in offices if o.path.startswith(scope.path)] for u, scope in users}
    ids = {
        u: [i for p, ids in by_path.items() if p.startswith(s.path) for i in ids] for u, s in users
    }
    plans: dict[str, list[tuple[str, str]]] = {"list": [], "search": [], "detail": []}
    for n in range(requests):
        username = users[n % 2][0]
        office = rng.choice(below[username]).id
        params = _fill(LIST_FILTERS[n % len(LIST_FILTERS)], today, office)
        params.update(limit="50", offset=str(50 * rng.randrange(0, 8)))
        plans["list"].append((username, f"/api/v1/petitions?{urlencode(params)}"))
        params = _fill(SEARCHES[n % len(SEARCHES)], today, office)
        params.update(limit="50", offset=str(50 * rng.choice((0, 0, 0, 1, 2))))
        plans["search"].append((username, f"/api/v1/petitions?{urlencode(params)}"))
        plans["detail"].append((username, f"/api/v1/petitions/{rng.choice(ids[username])}"))
    return plans


async def _start_server(data_dir: Path) -> tuple[asyncio.subprocess.Process, int]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub.bench_api",
        "--serve",
        str(data_dir),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
    if not line.strip().isdigit():
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"bench server did not start: {line!r}")
    return proc, int(line)


async def _stop_server(proc: asyncio.subprocess.Process) -> None:
    assert proc.stdin is not None
    proc.stdin.close()  # the server exits cleanly when its stdin closes
    try:
        await asyncio.wait_for(proc.wait(), timeout=15)
    except TimeoutError:
        proc.kill()
        await proc.wait()


async def run_bench_api(args: argparse.Namespace) -> dict[str, Any]:
    """Seed a fresh SQLite with args.petitions petitions, serve it, time list/search/detail."""
    count = int(args.petitions)
    requests = max(1, int(args.requests))
    with tempfile.TemporaryDirectory(prefix="tcd-bench-") as tmp:
        data_dir = Path(tmp)
        settings = Settings(data_dir=data_dir)
        await upgrade(settings)
        await seed_demo(settings, password=PASSWORD)
        started = time.perf_counter()
        by_path = await seed_petitions(settings, count)
        seed_seconds = time.perf_counter() - started
        db = Database.from_settings(settings)
        try:
            async with db.transaction() as session:
                offices = [
                    Office(o.id, o.code, o.level, o.path)
                    for o in (await session.execute(select(OfficeRow))).scalars()
                ]
        finally:
            await db.close()
        plans = _plans(random.Random(SEED + 1), requests, by_path, offices)
        load_before = os.getloadavg()[0]
        proc, port = await _start_server(data_dir)
        try:
            async with aiohttp.ClientSession() as http:
                client = Client(http, f"http://127.0.0.1:{port}")
                for username in ("staff", "staff.hungyen"):
                    await client.login(username)
                results = {
                    kind: _summary(await _measure(client, plan)) for kind, plan in plans.items()
                }
        finally:
            await _stop_server(proc)
    return {
        "petitions": count,
        "seed_seconds": round(seed_seconds, 2),
        **results,
        "server": "subprocess",
        "database": "sqlite",
        "sqlite_version": sqlite3.sqlite_version,
        "warmup_requests": WARMUP,
        # Other work on the machine shows up in wall times; this says how much there was.
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
    }


async def _serve(data_dir: Path) -> None:
    """Serve the hub on 127.0.0.1:0, print the port, run until stdin closes."""
    from aiohttp import web

    from hub.api.edge import Handler
    from hub.app import create_app

    @web.middleware
    async def server_cpu(request: web.Request, handler: Handler) -> web.StreamResponse:
        # Requests come one at a time, so the process's CPU clock measures this one alone
        # (its database thread included).
        start = time.process_time()
        response = await handler(request)
        response.headers[CPU_HEADER] = f"{(time.process_time() - start) * 1000:.3f}"
        return response

    app = create_app(Settings(data_dir=data_dir, log_level="WARNING"))
    app.middlewares.insert(0, server_cpu)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        print(runner.addresses[0][1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        asyncio.run(_serve(Path(sys.argv[2])))
    else:
        sys.exit("usage: python -m hub.bench_api --serve DATA_DIR (run by `tcd-hub bench api`)")

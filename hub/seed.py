"""Demo data: the offices named in the seed letters, demo accounts, a few hearings and petitions,
and one crowd delegation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.config import Settings
from hub.domain.delegations import DelegationDraft
from hub.domain.hearings import HearingDraft, HearingKind
from hub.domain.offices import OfficeDraft
from hub.domain.petitions import PetitionDraft, PetitionType, Source
from hub.domain.reception import ReceptionDraft, ReceptionHandling
from hub.domain.users import Role, UserDraft
from hub.services import delegations, hearings, offices, petitions, reception
from hub.services.access import Actor
from hub.services.auth import hash_password
from hub.storage.db import Database
from hub.storage.tables import HearingRow, OfficeRow, UserRow

# (code, name, level, parent code, has bridge point)
OFFICES: list[tuple[str, str, str, str | None, bool]] = [
    ("TW", "Trụ sở Tiếp công dân Trung ương (Hà Nội)", "central", None, True),
    ("HY", "Ban Tiếp công dân tỉnh Hưng Yên", "province", "TW", True),
    ("HY.VANLAM", "Ban Tiếp công dân huyện Văn Lâm", "district", "HY", True),
    ("HY.PHOHIEN", "Phường Phố Hiến", "commune", "HY", True),
    ("BG", "Ban Tiếp công dân tỉnh Bắc Giang", "province", "TW", True),
    ("BG.LUCNGAN", "Ban Tiếp công dân huyện Lục Ngạn", "district", "BG", True),
    ("BG.LUCNGAN.TANSON", "Xã Tân Sơn", "commune", "BG.LUCNGAN", False),
    ("HP", "Ban Tiếp công dân thành phố Hải Phòng", "province", "TW", True),
    ("HP.LECHAN", "Phường Lê Chân", "commune", "HP", True),
    ("TN", "Ban Tiếp công dân tỉnh Tây Ninh", "province", "TW", True),
    ("TN.TANBIEN", "Ban Tiếp công dân huyện Tân Biên", "district", "TN", True),
    ("TN.TANBIEN.TANLAP", "Xã Tân Lập", "commune", "TN.TANBIEN", True),
]

# (username, display name, role, office code)
ACCOUNTS: list[tuple[str, str, Role, str]] = [
    ("admin", "Quản trị hệ thống", Role.ADMIN, "TW"),
    ("leader", "Lãnh đạo Ban Tiếp công dân Trung ương", Role.LEADER, "TW"),
    ("staff", "Cán bộ tiếp công dân Trung ương", Role.STAFF, "TW"),
    ("operator", "Kỹ thuật viên Trung ương", Role.OPERATOR, "TW"),
    ("staff.hungyen", "Cán bộ tiếp công dân tỉnh Hưng Yên", Role.STAFF, "HY"),
    ("leader.hungyen", "Chủ tịch UBND tỉnh Hưng Yên", Role.LEADER, "HY"),
    ("operator.hungyen", "Kỹ thuật viên tỉnh Hưng Yên", Role.OPERATOR, "HY"),
    ("staff.bacgiang", "Cán bộ tiếp công dân tỉnh Bắc Giang", Role.STAFF, "BG"),
]

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class DemoAccount:
    """One demo account as printed by `tcd-hub seed-demo`."""

    username: str
    role: str
    office: str


async def _ensure_offices(session: AsyncSession) -> dict[str, OfficeRow]:
    existing = {o.code: o for o in (await session.execute(select(OfficeRow))).scalars()}
    for code, name, level, parent, bridge in OFFICES:
        if code in existing:
            continue
        parent_id = existing[parent].id if parent else None
        existing[code] = await offices.create_office(
            session, None, OfficeDraft(code, name, level, parent_id, bridge)
        )
    return existing


async def _ensure_accounts(
    session: AsyncSession, by_code: dict[str, OfficeRow], password: str
) -> dict[str, UserRow]:
    users = {u.username: u for u in (await session.execute(select(UserRow))).scalars()}
    for username, display, role, office_code in ACCOUNTS:
        if username in users:
            # Re-seeding resets the demo password, so the README's accounts always work.
            users[username].password_hash = hash_password(password)
            users[username].active = True
            continue
        users[username] = await offices.add_user(
            session, None, UserDraft(username, display, role, by_code[office_code].id, password)
        )
    return users


def _actor(user: UserRow, office: OfficeRow) -> Actor:
    return Actor(
        user.id,
        user.username,
        user.display_name,
        Role(user.role),
        office.id,
        office.name,
        office.path,
    )


async def _demo_records(
    session: AsyncSession, by_code: dict[str, OfficeRow], users: dict[str, UserRow]
) -> None:
    if (await session.execute(select(HearingRow.id).limit(1))).first() is not None:
        return
    staff = _actor(users["staff"], by_code["TW"])
    today = datetime.now(LOCAL).date()
    first_15th = date(today.year, today.month, 15)
    if first_15th < today:
        first_15th = date(today.year + (today.month == 12), today.month % 12 + 1, 15)
    start = datetime.combine(first_15th, datetime.min.time(), LOCAL).replace(hour=8)
    await hearings.create(
        session,
        staff,
        HearingDraft(
            title="Tiếp công dân định kỳ ngày 15 hằng tháng",
            kind=HearingKind.PERIODIC,
            host_office_id=by_code["TW"].id,
            site_office_ids=(by_code["HY"].id, by_code["BG"].id, by_code["TN"].id),
            starts_at=start,
            ends_at=start + timedelta(hours=3, minutes=30),
            chair_user_id=users["leader"].id,
            recurrence="FREQ=MONTHLY;BYMONTHDAY=15;COUNT=6",
            location="Trụ sở Tiếp công dân Trung ương, số 1 Ngô Thì Nhậm, Hà Đông, Hà Nội",
        ),
    )
    adhoc = datetime.combine(today + timedelta(days=2), datetime.min.time(), LOCAL).replace(hour=14)
    await hearings.create(
        session,
        _actor(users["staff.hungyen"], by_code["HY"]),
        HearingDraft(
            title="Tiếp công dân đột xuất: vụ việc đông người tại huyện Văn Lâm",
            kind=HearingKind.ADHOC,
            host_office_id=by_code["HY"].id,
            # Its own district and commune: a province invites only offices under it (the
            # central office, above it, may still sit in as an observer).
            site_office_ids=(by_code["HY.VANLAM"].id, by_code["HY.PHOHIEN"].id),
            starts_at=adhoc,
            ends_at=adhoc + timedelta(hours=2),
            chair_user_id=users["leader.hungyen"].id,
        ),
    )
    hy_staff = _actor(users["staff.hungyen"], by_code["HY"])
    samples = [
        PetitionDraft(
            type=PetitionType.COMPLAINT,
            office_id=by_code["HY"].id,
            petitioner_name="Nguyễn Văn An",
            petitioner_address="Thôn Đình Dù, huyện Văn Lâm, tỉnh Hưng Yên",
            petitioner_id_number="033080001234",
            content="Khiếu nại quyết định thu hồi đất và phương án bồi thường, hỗ trợ tái định cư.",
            received_on=today - timedelta(days=10),
            subject_field="Đất đai",
            respondent="UBND huyện Văn Lâm",
            request="Xem xét lại mức bồi thường",
        ),
        PetitionDraft(
            type=PetitionType.RECOMMENDATION,
            office_id=by_code["HY"].id,
            petitioner_name="Trần Thị Bình",
            petitioner_address="Xã Lạc Hồng, huyện Văn Lâm",
            content="Kiến nghị về ô nhiễm môi trường từ cụm công nghiệp.",
            received_on=today - timedelta(days=5),
            crowd=True,
            people_count=12,
            representatives=("Trần Thị Bình", "Lê Văn Cường", "Phạm Văn Dũng"),
            subject_field="Môi trường",
            source=Source.POST,
        ),
    ]
    created = [await petitions.create(session, hy_staff, draft) for draft in samples]
    # The reception register: the citizen who brought the first petition, and one sent on
    # with guidance at the central office.
    await reception.create(
        session,
        hy_staff,
        ReceptionDraft(
            office_id=by_code["HY"].id,
            received_on=samples[0].received_on,
            petitioner_name=samples[0].petitioner_name,
            petitioner_address=samples[0].petitioner_address,
            petitioner_id_number=samples[0].petitioner_id_number,
            content=samples[0].content,
            type=samples[0].type,
            handling=ReceptionHandling.ACCEPT,
            handled_before="UBND huyện Văn Lâm",
            follow_up="Đã tiếp nhận đơn, chuyển bộ phận xử lý đơn",
            petition_id=created[0].id,
        ),
    )
    await reception.create(
        session,
        staff,
        ReceptionDraft(
            office_id=by_code["TW"].id,
            received_on=today - timedelta(days=1),
            petitioner_name="Đỗ Thị Hạnh",
            petitioner_address="Phường Lê Chân, thành phố Hải Phòng",
            content="Phản ánh việc chậm giải quyết hồ sơ chế độ chính sách.",
            type=PetitionType.FEEDBACK,
            handling=ReceptionHandling.RETURN_WITH_GUIDANCE,
            notes="Hướng dẫn công dân gửi đơn đến Sở Lao động - Thương binh và Xã hội Hải Phòng",
        ),
    )
    # The crowd of the second sample went on to Hà Nội: a delegation received at the central
    # office from Hưng Yên, past its own level (vượt cấp), with that petition.
    await delegations.create(
        session,
        staff,
        DelegationDraft(
            receiving_office_id=by_code["TW"].id,
            home_office_id=by_code["HY"].id,
            received_on=today - timedelta(days=2),
            people_count=12,
            matter="Kiến nghị về ô nhiễm môi trường từ cụm công nghiệp tại huyện Văn Lâm",
            representatives=("Trần Thị Bình", "Lê Văn Cường", "Phạm Văn Dũng"),
            subject_field="Môi trường",
            petition_ids=(created[1].id,),
        ),
    )
    await petitions.create(
        session,
        _actor(users["staff.bacgiang"], by_code["BG"]),
        PetitionDraft(
            type=PetitionType.DENUNCIATION,
            office_id=by_code["BG"].id,
            petitioner_name="Hoàng Văn Đức",
            petitioner_address="Huyện Lục Ngạn, tỉnh Bắc Giang",
            content="Tố cáo cán bộ địa chính xã có hành vi nhũng nhiễu khi cấp giấy chứng nhận.",
            received_on=today - timedelta(days=3),
            subject_field="Đất đai",
        ),
    )


async def seed_offices(settings: Settings) -> None:
    """Load the demo office tree alone (no accounts, no records): a database ready to take an
    import of another hub's records."""
    db = Database.from_settings(settings)
    try:
        async with db.transaction() as session:
            await _ensure_offices(session)
    finally:
        await db.close()


async def seed_demo(settings: Settings, password: str = "demo") -> list[DemoAccount]:
    """Load the demo offices, accounts (with `password`) and records; safe to run again."""
    db = Database.from_settings(settings)
    try:
        async with db.transaction() as session:
            by_code = await _ensure_offices(session)
            users = await _ensure_accounts(session, by_code, password)
            await _demo_records(session, by_code, users)
            by_id = {o.id: o for o in by_code.values()}
            return [
                DemoAccount(u, str(users[u].role), by_id[users[u].office_id].name)
                for u, *_ in ACCOUNTS
            ]
    finally:
        await db.close()

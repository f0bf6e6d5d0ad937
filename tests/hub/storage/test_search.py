"""Full-text search of the register (SQLite FTS5, PostgreSQL tsvector): Vietnamese words found
with or without diacritics, by prefix, within the searcher's scope."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from hub.domain.errors import ValidationFailed
from hub.domain.petitions import PetitionDraft, PetitionType
from hub.services import petition_search, petitions
from hub.services.access import Actor
from hub.services.petition_search import PetitionQuery
from hub.storage.db import Database
from tests.hub.storage.conftest import Tree


@pytest.fixture
async def register(db: Database, tree: Tree) -> dict[str, Any]:
    """Three petitions: two in Hưng Yên, one in Bắc Giang."""
    hy, bg = tree.office["HY"].id, tree.office["BG"].id
    drafts = {
        "duc_hy": PetitionDraft(
            type=PetitionType.COMPLAINT,
            office_id=hy,
            petitioner_name="Nguyễn Văn Đức",
            petitioner_address="Thôn Đình Dù, huyện Văn Lâm",
            petitioner_id_number="033080001234",
            content="Khiếu nại về mức bồi thường khi thu hồi đất đai.",
            subject_field="Đất đai",
            received_on=date(2026, 10, 1),
        ),
        "binh_hy": PetitionDraft(
            type=PetitionType.RECOMMENDATION,
            office_id=hy,
            petitioner_name="Trần Thị Bình",
            content="Kiến nghị xử lý ô nhiễm môi trường của cụm công nghiệp.",
            subject_field="Môi trường",
            received_on=date(2026, 10, 2),
        ),
        "duc_bg": PetitionDraft(
            type=PetitionType.DENUNCIATION,
            office_id=bg,
            petitioner_name="Hoàng Văn Đức",
            content="Tố cáo cán bộ địa chính xã nhũng nhiễu.",
            received_on=date(2026, 10, 3),
        ),
    }
    made: dict[str, Any] = {}
    async with db.transaction() as session:
        for key, draft in drafts.items():
            actor = tree.staff_bg if draft.office_id == bg else tree.staff_hy
            made[key] = await petitions.create(session, actor, draft)
    return made


async def found(db: Database, actor: Actor, text: str, **filters: Any) -> set[int]:
    async with db.transaction() as session:
        items, total, _more = await petition_search.search(
            session, actor, PetitionQuery(text=text, **filters), is_sqlite=db.is_sqlite
        )
    assert total == len(items)
    return {i["id"] for i in items}


async def found_personal(db: Database, actor: Actor, text: str, **filters: Any) -> set[int]:
    async with db.transaction() as session:
        items, has_more = await petition_search.search_personal(
            session, actor, PetitionQuery(text=text, **filters), is_sqlite=db.is_sqlite
        )
    assert not has_more
    return {i["id"] for i in items}


# (query, keys of the petitions a plain search must find) over the register fixture: the case's
# words only, never the petitioner's name, address or ID number.
WORDS: list[tuple[str, set[str]]] = [
    ("bồi thường", {"duc_hy"}),
    ("boi thuong", {"duc_hy"}),
    ("BOI", {"duc_hy"}),
    ("ô nhiễm", {"binh_hy"}),
    ("o nhiem moi tr", {"binh_hy"}),
    ("đất", {"duc_hy"}),
    ("tố cáo", {"duc_bg"}),
    ("dia chinh nhung", {"duc_bg"}),
    ("Đức", set()),  # a name
    ("nguyen", set()),
    ("Văn Lâm", set()),  # an address
    ("033080001234", set()),  # an ID number
    ("hà nội", set()),
    ("ô nhiễm tố cáo", set()),  # every word must match
]
# The same for a personal-data search: the case, and the petitioner's name and address by
# prefix, and the ID number whole.
PERSONAL_WORDS: list[tuple[str, set[str]]] = [
    ("Đức", {"duc_hy", "duc_bg"}),
    ("đức", {"duc_hy", "duc_bg"}),
    ("duc", {"duc_hy", "duc_bg"}),
    ("DUC", {"duc_hy", "duc_bg"}),
    ("Nguyễn Đức", {"duc_hy"}),
    ("nguyen duc", {"duc_hy"}),
    ("nguy", {"duc_hy"}),
    ("Văn Lâm", {"duc_hy"}),
    ("dinh du", {"duc_hy"}),
    ("033080001234", {"duc_hy"}),
    ("duc 033080001234", {"duc_hy"}),
    ("0330800", set()),  # an ID number's prefix: never
    ("03308000123", set()),
    ("bồi thường", {"duc_hy"}),
    ("duc to cao", {"duc_bg"}),  # a name and the case together
    ("duc binh", set()),
]


async def test_words_of_the_case_are_found_with_and_without_diacritics_and_by_prefix(
    db: Database, tree: Tree, register: dict[str, Any]
) -> None:
    names = {row.id: key for key, row in register.items()}
    wrong = {}
    for text, expected in WORDS:
        got = {names[i] for i in await found(db, tree.admin, text)}
        if got != expected:
            wrong[text] = f"found {sorted(got)}, expected {sorted(expected)}"
    for text, expected in PERSONAL_WORDS:
        got = {names[i] for i in await found_personal(db, tree.admin, text)}
        if got != expected:
            wrong[f"personal: {text}"] = f"found {sorted(got)}, expected {sorted(expected)}"
    assert wrong == {}


async def test_search_stays_within_the_searchers_scope_and_combines_with_filters(
    db: Database, tree: Tree, register: dict[str, Any]
) -> None:
    assert await found_personal(db, tree.staff_hy, "duc") == {register["duc_hy"].id}
    assert await found_personal(db, tree.staff_bg, "duc") == {register["duc_bg"].id}
    assert await found_personal(db, tree.admin, "duc", type="denunciation") == {
        register["duc_bg"].id
    }
    assert await found_personal(db, tree.admin, "van", received_from=date(2026, 10, 2)) == {
        register["duc_bg"].id
    }
    assert await found(db, tree.staff_hy, "dat") == {register["duc_hy"].id}
    assert await found(db, tree.staff_bg, "dat") == set()


async def test_fts_syntax_in_the_query_is_just_text(
    db: Database, tree: Tree, register: dict[str, Any]
) -> None:
    for text in ['dat"', "dat*", "(dat)", "-dat", "!dat", "dat:*", "'dat'", "dat;--"]:
        assert register["duc_hy"].id in await found(db, tree.admin, text), text
    for text in ['duc"', "duc*", "(duc)", "-duc", "!duc", "duc:*", "'duc'", "duc;--"]:
        assert register["duc_hy"].id in await found_personal(db, tree.admin, text), text
    # A weight written into the text is two words, not a way to reach the ID number by prefix.
    assert await found_personal(db, tree.admin, "duc:C") == {register["duc_bg"].id}
    assert await found_personal(db, tree.admin, "0330:C") == set()
    for search in (found, found_personal):
        with pytest.raises(ValidationFailed) as caught:
            await search(db, tree.admin, '"*"')
        assert "text" in caught.value.fields


async def test_edits_are_searchable_at_once(
    db: Database, tree: Tree, register: dict[str, Any]
) -> None:
    row = register["binh_hy"]
    async with db.transaction() as session:
        await petitions.update(
            session, tree.staff_hy, row.id, {"content": "Phản ánh tiếng ồn ban đêm."}
        )
    assert await found(db, tree.admin, "tiếng ồn") == {row.id}
    assert await found(db, tree.admin, "nhiem") == set()


async def test_a_petition_is_found_by_its_case_code(
    db: Database,
    tree: Tree,
    register: dict[str, Any],
    db_url: str,
    request: pytest.FixtureRequest,
) -> None:
    row = register["duc_hy"]
    assert row.case_code == "HY-2026-000001"
    assert await found(db, tree.admin, row.case_code) == {row.id}

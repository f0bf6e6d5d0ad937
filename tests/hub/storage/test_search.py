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
        items, total = await petition_search.search(
            session, actor, PetitionQuery(text=text, **filters), is_sqlite=db.is_sqlite
        )
    assert total == len(items)
    return {i["id"] for i in items}


# (query, keys of the petitions it must find) over the register fixture.
WORDS: list[tuple[str, set[str]]] = [
    ("Đức", {"duc_hy", "duc_bg"}),
    ("đức", {"duc_hy", "duc_bg"}),
    ("duc", {"duc_hy", "duc_bg"}),
    ("DUC", {"duc_hy", "duc_bg"}),
    ("Nguyễn Đức", {"duc_hy"}),
    ("nguyen duc", {"duc_hy"}),
    ("nguy", {"duc_hy"}),
    ("bồi thường", {"duc_hy"}),
    ("boi thuong", {"duc_hy"}),
    ("ô nhiễm", {"binh_hy"}),
    ("o nhiem moi tr", {"binh_hy"}),
    ("Văn Lâm", {"duc_hy"}),
    ("đất", {"duc_hy"}),
    ("tố cáo", {"duc_bg"}),
    ("0330800", {"duc_hy"}),
    ("hà nội", set()),
    ("duc binh", set()),  # every word must match
]


async def test_words_are_found_with_and_without_diacritics_and_by_prefix(
    db: Database, tree: Tree, register: dict[str, Any]
) -> None:
    names = {row.id: key for key, row in register.items()}
    wrong = {}
    for text, expected in WORDS:
        got = {names[i] for i in await found(db, tree.admin, text)}
        if got != expected:
            wrong[text] = f"found {sorted(got)}, expected {sorted(expected)}"
    assert wrong == {}


async def test_search_stays_within_the_searchers_scope_and_combines_with_filters(
    db: Database, tree: Tree, register: dict[str, Any]
) -> None:
    assert await found(db, tree.staff_hy, "duc") == {register["duc_hy"].id}
    assert await found(db, tree.staff_bg, "duc") == {register["duc_bg"].id}
    assert await found(db, tree.admin, "duc", type="denunciation") == {register["duc_bg"].id}
    assert await found(db, tree.admin, "van", received_from=date(2026, 10, 2)) == {
        register["duc_bg"].id
    }


async def test_fts_syntax_in_the_query_is_just_text(
    db: Database, tree: Tree, register: dict[str, Any]
) -> None:
    for text in ['duc"', "duc*", "(duc)", "-duc", "!duc", "duc:*", "'duc'", "duc;--"]:
        assert register["duc_hy"].id in await found(db, tree.admin, text), text
    with pytest.raises(ValidationFailed) as caught:
        await found(db, tree.admin, '"*"')
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

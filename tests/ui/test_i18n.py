"""The message catalogue: every key the templates and scripts use exists in both languages,
every enum value has a label, and both languages take the same parameters."""

from __future__ import annotations

import re
import string
from pathlib import Path

from hub.domain.hearings import HearingKind, HearingStatus
from hub.domain.offices import KNOWN_LEVELS
from hub.domain.petitions import PetitionStatus, PetitionType, Source
from hub.domain.sessionlog import LogKind
from hub.domain.users import Role
from hub.i18n import MESSAGES, Translator, catalogue, pick_language, translate

WEB = Path(__file__).resolve().parents[2] / "web"
# t("key") / t('key') in templates and scripts; keys built at run time are checked below.
KEY = re.compile(r"""\bt\(\s*["']([a-z0-9_]+\.[a-z0-9_.]+)["']""")


def _used_keys() -> dict[str, str]:
    used: dict[str, str] = {}
    for path in [*WEB.glob("templates/*.html"), *WEB.glob("static/js/*.js")]:
        for key in KEY.findall(path.read_text(encoding="utf-8")):
            used.setdefault(key, path.name)
    return used


def test_every_key_used_by_a_page_exists() -> None:
    used = _used_keys()
    assert len(used) > 100
    missing = {key: where for key, where in used.items() if key not in MESSAGES}
    assert missing == {}


def test_every_enum_value_has_a_label() -> None:
    wanted = (
        [f"hkind.{v}" for v in HearingKind]
        + [f"hstatus.{v}" for v in HearingStatus]
        + [f"ptype.{v}" for v in PetitionType]
        + [f"pstatus.{v}" for v in PetitionStatus]
        + [f"paction.{v}" for v in PetitionStatus if v is not PetitionStatus.RECEIVED]
        + [f"source.{v}" for v in Source]
        + [f"log.{v}" for v in LogKind]
        + [f"role.{v}" for v in Role]
        + [f"level.{v}" for v in KNOWN_LEVELS]
        + [f"month.{m}" for m in range(1, 13)]
        + [f"wd.{d}" for d in range(7)]
        + [f"wdlong.{d}" for d in range(7)]
    )
    assert [key for key in wanted if key not in MESSAGES] == []


def test_both_languages_are_written_and_take_the_same_parameters() -> None:
    fields = string.Formatter()
    for key, (vi, en) in MESSAGES.items():
        assert vi.strip() and en.strip(), key
        params_vi = {name for _, name, _, _ in fields.parse(vi) if name}
        params_en = {name for _, name, _, _ in fields.parse(en) if name}
        # The month label names the month in English and numbers it in Vietnamese.
        if key != "cal.month_label":
            assert params_vi == params_en, key


def test_vietnamese_is_the_default_and_english_the_switch() -> None:
    assert pick_language(None) == "vi"
    assert pick_language("fr") == "vi"
    assert pick_language("en") == "en"
    assert translate("vi", "nav.petitions") == "Sổ đơn thư"
    assert translate("en", "nav.petitions") == "Petition register"
    assert translate("vi", "hf.created", n=3) == "Đã tạo 3 phiên."
    assert translate("vi", "no.such.key") == "no.such.key"
    # A missing parameter stays visible instead of failing the page.
    assert translate("en", "hf.created") == "{n} hearings created."
    t = Translator("en")
    assert t.label("pstatus", "returned") == "Returned with guidance"
    assert t.label("pstatus", "unheard_of") == "unheard_of"
    assert catalogue("vi")["hstatus.live"] == "Đang diễn ra"

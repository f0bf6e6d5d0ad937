"""The message catalogues (hub/locales/*.json): every key the templates and scripts use exists
in both languages, every enum value has a label, both languages take the same parameters, and
counted things take each language's plural forms ("1 site", not "1 sites")."""

from __future__ import annotations

import re
import string
from pathlib import Path

from hub.domain.guests import AgencyKind, LinkState
from hub.domain.hearings import HearingKind, HearingStatus
from hub.domain.offices import KNOWN_LEVELS
from hub.domain.petitions import PetitionStatus, PetitionType, Source
from hub.domain.self_tests import REASONS, Score
from hub.domain.sessionlog import LogKind
from hub.domain.users import Role
from hub.i18n import (
    LANGUAGES,
    PLURAL_CATEGORIES,
    Message,
    Translator,
    catalogue,
    messages,
    pick_language,
    translate,
)

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
    for lang in LANGUAGES:
        missing = {key: where for key, where in used.items() if key not in messages(lang)}
        assert missing == {}, lang


def test_every_enum_value_has_a_label() -> None:
    wanted = (
        [f"hkind.{v}" for v in HearingKind]
        + [f"hstatus.{v}" for v in HearingStatus]
        + [f"ptype.{v}" for v in PetitionType]
        + [f"pstatus.{v}" for v in PetitionStatus]
        + [f"paction.{v}" for v in PetitionStatus if v is not PetitionStatus.RECEIVED]
        + [f"source.{v}" for v in Source]
        + [f"log.{v}" for v in LogKind]
        + [f"gagency.{v}" for v in AgencyKind]
        + [f"glink.{v}" for v in LinkState]
        + [f"role.{v}" for v in Role]
        + [f"selftest.score.{v}" for v in Score]
        + [f"selftest.reason.{r}" for r in REASONS]
        + [f"level.{v}" for v in KNOWN_LEVELS]
        + [f"month.{m}" for m in range(1, 13)]
        + [f"wd.{d}" for d in range(7)]
        + [f"wdlong.{d}" for d in range(7)]
    )
    for lang in LANGUAGES:
        assert [key for key in wanted if key not in messages(lang)] == [], lang


def _forms(message: Message) -> list[str]:
    return [message] if isinstance(message, str) else list(message.values())


def _params(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_are_written_and_take_the_same_parameters() -> None:
    vi_messages, en_messages = messages("vi"), messages("en")
    assert set(vi_messages) == set(en_messages)
    for key, vi in vi_messages.items():
        en = en_messages[key]
        assert isinstance(vi, str) == isinstance(en, str), f"{key}: plural in one language only"
        forms = _forms(vi) + _forms(en)
        assert all(form.strip() for form in forms), key
        # The month label names the month in English and numbers it in Vietnamese.
        if key != "cal.month_label":
            assert len({frozenset(_params(form)) for form in forms}) == 1, key
        if not isinstance(vi, str):
            assert "n" in _params(vi["other"]), f"{key}: plural forms are chosen by {{n}}"


def test_each_language_has_its_own_plural_forms() -> None:
    # CLDR: Vietnamese has one form, English "one" and "other" (Intl.PluralRules agrees).
    assert PLURAL_CATEGORIES == {"vi": {"other"}, "en": {"one", "other"}}
    plural = [k for k, m in messages("en").items() if not isinstance(m, str)]
    assert {"ld.sites", "hf.sites_count", "hf.created", "common.total", "live.people"} <= set(
        plural
    )
    for lang in LANGUAGES:
        for key in plural:
            message = messages(lang)[key]
            assert not isinstance(message, str) and set(message) == PLURAL_CATEGORIES[lang]
    en, vi = Translator("en"), Translator("vi")
    assert en("ld.sites", n=1) == "1 site"
    assert en("ld.sites", n=3) == "3 sites"
    assert en("ld.sites", n=0) == "0 sites"
    assert en("hf.created", n=1) == "1 hearing created."
    assert en("common.total", n=1) == "1 result"
    assert en("live.people", n="1") == "1 person"
    assert vi("ld.sites", n=1) == "1 điểm cầu"
    assert vi("ld.sites", n=5) == "5 điểm cầu"
    # No count given: the general form, the parameter left visible.
    assert en("ld.sites") == "{n} sites"


def _arguments(text: str, start: int) -> str:
    """The rest of a call's arguments from `start` up to its closing parenthesis."""
    depth = 1
    for end in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[end], 0)
        if depth == 0:
            return text[start:end]
    return text[start:]


def test_every_counted_message_is_given_its_count_as_n() -> None:
    plural = {k for k, m in messages("en").items() if not isinstance(m, str)}
    calls = 0
    for path in [*WEB.glob("templates/*.html"), *WEB.glob("static/js/*.js")]:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"""\bt\(\s*["']([a-z0-9_.]+)["']""", text):
            if match.group(1) in plural:
                calls += 1
                args = _arguments(text, match.end())
                given_n = re.search(r"\bn\s*[:=]|[{,]\s*n\s*[,}]", args)
                assert given_n, f"{path.name}: t({match.group(1)!r}{args})"
    assert calls >= 10


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
    assert catalogue("en")["ld.sites"] == {"one": "{n} site", "other": "{n} sites"}

"""The pages' messages: Vietnamese first, English on a switch (the `lang` cookie).

The catalogues are data, one JSON file per language in hub/locales/. A message is a string with
{name} parameters, or, when it counts something, an object of plural forms keyed by CLDR
category ("one", "other", ...) chosen by its {n} parameter. Vietnamese has one form ("other"),
English two ("one" for 1, "other" else); the page scripts choose the same way with
Intl.PluralRules. No web framework here: pages pick the language per request, templates call
`t(key, **params)`, and the same catalogue is handed to the page scripts as JSON.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from importlib import resources
from types import MappingProxyType

LANG_COOKIE = "lang"
DEFAULT_LANGUAGE = "vi"
LANGUAGES = ("vi", "en")
# The parameter whose number chooses a plural form.
COUNT_PARAM = "n"

# A message: plain text, or its plural forms by CLDR category.
Message = str | Mapping[str, str]


def _english(n: int | float) -> str:
    return "one" if n == 1 else "other"


def _vietnamese(_n: int | float) -> str:
    return "other"


# CLDR's plural rules of each language (unicode.org/cldr/charts/latest/supplemental/
# language_plural_rules.html), for integer counts.
PLURAL_RULES: Mapping[str, Callable[[int | float], str]] = MappingProxyType(
    {"vi": _vietnamese, "en": _english}
)
PLURAL_CATEGORIES: Mapping[str, frozenset[str]] = MappingProxyType(
    {"vi": frozenset({"other"}), "en": frozenset({"one", "other"})}
)


class CatalogueError(ValueError):
    """A catalogue file that is not what the pages need (names the file and the key)."""


def _check(lang: str, data: object) -> dict[str, Message]:
    if not isinstance(data, dict):
        raise CatalogueError(f"locales/{lang}.json: expected an object of messages")
    for key, message in data.items():
        if isinstance(message, str):
            continue
        if not isinstance(message, dict) or not all(isinstance(v, str) for v in message.values()):
            raise CatalogueError(f"locales/{lang}.json: {key}: a string or plural forms")
        if set(message) != PLURAL_CATEGORIES[lang]:
            raise CatalogueError(
                f"locales/{lang}.json: {key}: plural forms must be "
                f"{sorted(PLURAL_CATEGORIES[lang])}, not {sorted(message)}"
            )
    return data


@functools.cache
def messages(lang: str) -> Mapping[str, Message]:
    """Every message of one language, read once from hub/locales/<lang>.json."""
    lang = pick_language(lang)
    text = resources.files("hub").joinpath("locales", f"{lang}.json").read_text("utf-8")
    return MappingProxyType(_check(lang, json.loads(text)))


class _Keep(dict[str, object]):
    """format_map mapping that leaves unknown {names} in place instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def pick_language(value: str | None) -> str:
    """The language to use for a cookie value: a known code, else Vietnamese."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def plural_form(lang: str, message: Mapping[str, str], count: object) -> str:
    """The form of a plural message for `count` (the "other" form when it is no number)."""
    if isinstance(count, bool) or not isinstance(count, int | float | str):
        return message["other"]
    try:
        number = float(count)
    except ValueError:
        return message["other"]
    return message.get(PLURAL_RULES[pick_language(lang)](number), message["other"])


def translate(lang: str, key: str, **params: object) -> str:
    """The message `key` in `lang` with {params} filled in; the key itself when unknown."""
    message = messages(lang).get(key)
    if message is None:
        return key
    text = (
        message if isinstance(message, str) else plural_form(lang, message, params.get(COUNT_PARAM))
    )
    return text.format_map(_Keep(params)) if params else text


def catalogue(lang: str) -> dict[str, Message]:
    """Every message in one language, for the page scripts (plural forms as objects)."""
    return dict(messages(lang))


class Translator:
    """`t(key, **params)` bound to one language, as templates call it."""

    def __init__(self, lang: str) -> None:
        self.lang = pick_language(lang)

    def __call__(self, key: str, **params: object) -> str:
        return translate(self.lang, key, **params)

    def label(self, prefix: str, value: str | None) -> str:
        """An enum value's label, e.g. label('pstatus', 'accepted'); the value when unknown."""
        if value is None:
            return translate(self.lang, "common.none")
        key = f"{prefix}.{value}"
        return translate(self.lang, key) if key in messages(self.lang) else value

"""Languages of the web pages: Chinese (zh, the default) and English (en).

Source strings are English; the Chinese catalogues are gettext `.po` files under
`yibao/locale/zh/LC_MESSAGES/`, one per part of the app (base.po, member.po,
console.po, ...), read with Babel when the server starts: no compile step.
tests/web/test_translations.py fails on any string of a template or a page module that
has no Chinese translation.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent.parent / "locale"
LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LANG_NAMES = {"zh": "中文", "en": "English"}


@cache
def catalogue(lang: str) -> Mapping[str, str]:
    """msgid -> translation for a language, from every .po file of it."""
    found: dict[str, str] = {}
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    for path in sorted(folder.glob("*.po")):
        with path.open("rb") as f:
            for message in read_po(f, locale=lang):
                if message.id and isinstance(message.id, str) and message.string:
                    found[message.id] = str(message.string)
    return found


class Translator:
    """gettext for one request's language. English is the source language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGS else DEFAULT_LANG
        self._messages = catalogue(self.lang) if self.lang != "en" else {}

    def gettext(self, message: str) -> str:
        return self._messages.get(message, message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        # Chinese has one form; English picks by n.
        if self.lang == "en":
            return singular if n == 1 else plural
        return self._messages.get(singular, singular)

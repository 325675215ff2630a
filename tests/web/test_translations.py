"""Every string of the web pages has a Chinese translation: a string marked for
translation in a template (`_()`, `gettext`, `t()`) or in a page module (`_()`, `t()`)
without a non-empty msgstr in the zh catalogues fails this test, naming file and line."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from yibao.entrypoints.web import i18n

WEB = Path(i18n.__file__).resolve().parent
KEYWORDS = {"_": None, "gettext": None, "t": (1,), "ngettext": (1, 2)}
METHODS = [
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
    ("**.py", "python"),
]


def marked_strings() -> list[tuple[str, int, str]]:
    found = []
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(WEB),
        method_map=METHODS,
        keywords=KEYWORDS,
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        for text in message if isinstance(message, tuple) else (message,):
            if text:
                found.append((filename, lineno, text))
    return found


def test_the_pages_mark_their_strings() -> None:
    """The extraction sees the templates (a broken extractor would pass everything)."""
    texts = {text for _, _, text in marked_strings()}
    assert "Sign in" in texts
    assert "The account or the password is wrong." in texts  # from a page module
    assert len(texts) > 20


def test_every_string_has_a_chinese_translation() -> None:
    zh = i18n.catalogue("zh")
    missing = sorted(
        {f"{file}:{line}: {text!r}" for file, line, text in marked_strings() if not zh.get(text)}
    )
    assert not missing, "untranslated:\n" + "\n".join(missing)


def test_no_translation_is_left_over() -> None:
    """A msgid no page uses any more is a translator's wasted work: keep catalogues clean."""
    used = {text for _, _, text in marked_strings()}
    unused = sorted(set(i18n.catalogue("zh")) - used)
    assert not unused, "translations of strings no page uses:\n" + "\n".join(unused)

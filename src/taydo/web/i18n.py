"""Languages of the console: Vietnamese (the source language of every message) and English.

Messages are written in Vietnamese in templates (``_("Tổng quan")``) and Python (``N_(...)``
marks a string for extraction and translates nothing by itself). ``make i18n`` extracts them
(``babel.cfg``), updates ``translations/en/LC_MESSAGES/messages.po`` and compiles the ``.mo``
that is read here; a test fails when a message lacks its English translation.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations
from fastapi import Request

__all__ = [
    "DEFAULT_LOCALE",
    "LANG_COOKIE",
    "LOCALES",
    "N_",
    "TRANSLATIONS_DIR",
    "locale_of",
    "pick",
    "translations",
]

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
DEFAULT_LOCALE = "vi"
# code: name shown in the language switch (each in its own language, never translated)
LOCALES: dict[str, str] = {"vi": "Tiếng Việt", "en": "English"}
LANG_COOKIE = "taydo_lang"


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


@cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalog of ``locale`` (Vietnamese is the source: no catalog needed)."""
    if locale == DEFAULT_LOCALE:
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), [locale], domain="messages")


def locale_of(request: Request) -> str:
    """The language chosen with the switch (a cookie), else Vietnamese."""
    chosen = request.cookies.get(LANG_COOKIE, "")
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


def pick(locale: str, vietnamese: str | None, english: str | None) -> str:
    """Choose between a label pair carried by data (choice sets, agency names)."""
    if locale == "en" and english:
        return english
    return vietnamese or english or ""

"""Words for codes in every console page: ``{{ word("agency", a.agency_code) }}``.

The kit knows no domain, so it does not know the words either: a domain below the pages (the
catalog, which holds the packs' labels and the agencies', datasets' and areas' names) provides
a :class:`Vocabulary` in the runtime, and :func:`taydo.web.shell.render` offers its ``word``
to every template in the page's language. Without a vocabulary a code is shown as itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Named", "Vocabulary", "said", "word_function"]

# How the services write a reason stored for both languages: "chưa tính / not computed yet".
BOTH = " / "


class Named(Protocol):
    def word(
        self, kind: str, code: str | None, language: str = "vi", type_name: str = ""
    ) -> str: ...


@dataclass(frozen=True)
class Vocabulary:
    """Where the current words come from (called at most once per rendered page)."""

    words: Callable[[], Named]


def word_function(vocabulary: Vocabulary | None, locale: str) -> Callable[..., str]:
    """``word(kind, code, type_name="")`` for one page: the label in ``locale``."""
    held: list[Named] = []

    def word(kind: str, code: Any, type_name: str = "") -> str:
        if code is None or code == "":
            return "—"
        if vocabulary is None:
            return str(code)
        if not held:
            held.append(vocabulary.words())
        return held[0].word(kind, str(code), locale, type_name)

    return word


def said(text: str | None, locale: str) -> str:
    """A message stored in both languages ("Tiếng Việt / English", as the services write
    their reasons and errors) in the page's language: the half before the separator in
    Vietnamese, the half after it in English. A text with no separator, or with several (a
    name may hold one), is shown whole: a message never loses words."""
    if not text:
        return ""
    if text.count(BOTH) != 1:
        return text
    vietnamese, english = text.split(BOTH)
    return english if locale.startswith("en") and english else vietnamese

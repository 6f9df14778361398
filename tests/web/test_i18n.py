"""Every console string is translated: extracted messages all have English, the compiled
catalog matches its source, and templates hold no text outside ``_()``."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from jinja2 import Environment

from taydo.core.plugins import domains, make_plugin_manager
from taydo.web.i18n import TRANSLATIONS_DIR
from taydo.web.shell import Shell

ROOT = Path(__file__).resolve().parents[2]
PO = TRANSLATIONS_DIR / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")


def _extracted() -> dict[str, tuple[str, int]]:
    mapping = (ROOT / "babel.cfg").read_text(encoding="utf-8")
    method_map, options_map = parse_mapping_cfg(io.StringIO(mapping))
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found: dict[str, tuple[str, int]] = {}
    for filename, line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        key = message if isinstance(message, str) else message[0]
        found.setdefault(key, (filename, line))
    return found


def test_every_message_has_an_english_translation() -> None:
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    found = _extracted()
    assert len(found) > 20, "extraction found almost nothing: is babel.cfg right?"
    problems = []
    for msgid, (filename, line) in sorted(found.items()):
        entry = catalog.get(msgid)
        strings = (
            ()
            if entry is None
            else ((entry.string,) if isinstance(entry.string, str) else entry.string)
        )
        if entry is None or not all(strings) or entry.fuzzy:
            problems.append(f"{filename}:{line}: {msgid!r}")
    assert problems == [], "untranslated (run `make i18n`, then fill the English catalog)"


def test_compiled_catalog_matches_its_source() -> None:
    def pairs(catalog) -> dict[str, tuple[str, ...]]:  # type: ignore[no-untyped-def]
        return {
            str(m.id if isinstance(m.id, str) else m.id[0]): tuple(
                [m.string] if isinstance(m.string, str) else m.string
            )
            for m in catalog
            if m.id and not m.fuzzy
        }

    with PO.open("rb") as handle:
        source = pairs(read_po(handle, locale="en"))
    with MO.open("rb") as handle:
        compiled = pairs(read_mo(handle))
    assert compiled == source, "messages.mo is out of date: run `make i18n`"


class _BareText(HTMLParser):
    """Collects visible text and human-read attributes outside Jinja expressions."""

    ATTRIBUTES = frozenset({"title", "placeholder", "alt", "aria-label", "label"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in self.ATTRIBUTES and value and re.search(r"[^\W\d_]", value):
                self.found.append(f"{name}={value!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and re.search(r"[^\W\d_]", data):
            self.found.append(data.strip())


def _bare_text(source: str) -> list[str]:
    """Text of a template once every Jinja tag, expression and comment is blanked out."""
    tokens = Environment(extensions=["jinja2.ext.i18n"]).lex(source)
    skeleton = "".join(value if kind == "data" else " " for _line, kind, value in tokens)
    parser = _BareText()
    parser.feed(skeleton)
    parser.close()
    return parser.found


TEMPLATES = sorted(
    p for d in Shell.of(domains(make_plugin_manager())).template_dirs for p in d.rglob("*.html")
)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_templates_hold_no_untranslated_text(path: Path) -> None:
    assert _bare_text(path.read_text(encoding="utf-8")) == []


def test_the_checker_catches_bare_text() -> None:
    assert _bare_text('<p title="Bản đồ">{{ _("Có") }}</p><b>Không</b>') == [
        "title='Bản đồ'",
        "Không",
    ]
    assert _bare_text('<p>{{ _("Có") }} · {{ n }}</p>') == []

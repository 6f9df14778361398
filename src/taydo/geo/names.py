"""Matching Vietnamese place names robustly.

Names arrive from GIS files and agency spreadsheets in many shapes: decomposed Unicode (NFD),
upper case, with or without the kind prefix ('Phường Ninh Kiều' vs 'Ninh Kiều'), abbreviated
('P. Ninh Kiều'), and with the old tone-mark placement ('Hoà' for 'Hòa'). ``name_key`` maps
all of those to one key; ``loose_key`` also drops the diacritics, for files written without
them (used only when it picks exactly one area).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["loose_key", "name_key", "nfc", "strip_kind"]

# Kind prefixes, longest first so 'thành phố' wins over a shorter match. Abbreviations seen
# in official and GIS data ('P.', 'X.', 'TP.', 'TX.', 'TT.') are included.
_KIND_PREFIXES = (
    "thành phố trung ương",
    "thành phố",
    "thị trấn",
    "thị xã",
    "đặc khu",
    "phường",
    "tỉnh",
    "huyện",
    "quận",
    "xã",
    "tp.",
    "tx.",
    "tt.",
    "p.",
    "x.",
)

# Old-style ('hoà') and new-style ('hòa') tone placement on the diphthongs oa, oe, uy: both
# are in daily use, so both map to the new style before comparing.
_TONE_MOVES = {}
for _tone in ("\u0300", "\u0301", "\u0309", "\u0303", "\u0323"):  # huyền sắc hỏi ngã nặng
    for _first, _second in (("o", "a"), ("o", "e"), ("u", "y")):
        old = unicodedata.normalize("NFC", _first + _second + _tone)
        new = unicodedata.normalize("NFC", _first + _tone + _second)
        _TONE_MOVES[old] = new

_SPACES = re.compile(r"\s+")


def nfc(text: str) -> str:
    """NFC-normalised, trimmed, single-spaced text (keeps case and diacritics)."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_ASCII_PREFIXES = tuple(_ascii(p) for p in _KIND_PREFIXES)


def strip_kind(key: str, prefixes: tuple[str, ...] = _KIND_PREFIXES) -> str:
    """Drop a leading kind word ('phường ', 'xã ', 'p.') from a lower-case key."""
    for prefix in prefixes:
        if key.startswith(prefix):
            rest = key[len(prefix) :].strip()
            if rest and (prefix.endswith(".") or key[len(prefix)] == " "):
                return rest
    return key


def _tone_style(key: str) -> str:
    # Only at the end of a syllable: 'hoà' → 'hòa' but 'hoàng' stays 'hoàng'.
    for old, new in _TONE_MOVES.items():
        key = re.sub(re.escape(old) + r"(?![a-zà-ỹđ])", new, key)
    return key


def name_key(name: str, *, keep_kind: bool = False) -> str:
    """A comparison key: NFC, case-folded, old tone placement fixed, kind prefix dropped."""
    key = nfc(name).lower()
    key = _tone_style(key)
    if not keep_kind:
        key = strip_kind(key)
    return key


def loose_key(name: str) -> str:
    """``name_key`` without diacritics ('Xa Ninh Kieu' matches 'Phường Ninh Kiều')."""
    return strip_kind(_ascii(name_key(name, keep_kind=True)), _ASCII_PREFIXES)

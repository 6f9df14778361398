"""Workforce fixtures: the catalog's test pack (areas and the Cần Thơ pack's agencies) and
small files written as an agency would write them."""

from __future__ import annotations

from collections.abc import Sequence

from tests.catalog.conftest import loaded, pack_dir

__all__ = ["csv_file", "loaded", "pack_dir"]


def csv_file(headers: Sequence[str], *rows: Sequence[object]) -> bytes:
    """A semicolon CSV in UTF-8 with a BOM, as Excel's 'CSV UTF-8' saves it."""
    lines = [";".join(headers), *(";".join(str(cell) for cell in row) for row in rows)]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")

"""Writing spreadsheets the IOC produces (a row report, a template, a rejected-rows CSV) so
that user text stays text.

A cell such as ``=cmd|' /C calc'!A0`` or ``=HYPERLINK(…)`` that came from an uploaded file
(or is its name) must never become a live formula in the workbook an officer opens
(formula injection, issue 18 #7):

* in .xlsx, every string is written as a string cell (openpyxl would otherwise store text
  starting with ``=`` as a formula); characters XML cannot carry are shown as ``\\xNN``;
* in .csv, which has no cell types, text that a spreadsheet would read as a formula (starting
  with ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a leading ``'``, the mark
  spreadsheets use for "this is text"; plain numbers such as ``-1,5`` are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["FORMULA_START", "append_row", "csv_cell", "xlsx_text"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?$")
# What XML 1.0 cannot carry (openpyxl refuses it with IllegalCharacterError).
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xlsx_text(text: str) -> str:
    """Text an .xlsx cell can hold: illegal XML characters shown as escapes, not dropped."""
    if _ILLEGAL_XML.search(text) is None:
        return text
    return _ILLEGAL_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def append_row(sheet: Any, values: Iterable[Any]) -> None:
    """``sheet.append(values)`` with every string written as a string cell, never a formula."""
    values = [xlsx_text(v) if isinstance(v, str) else v for v in values]
    sheet.append(values)
    row = sheet.max_row
    for column, value in enumerate(values, start=1):
        if isinstance(value, str):
            cell = sheet.cell(row=row, column=column)
            cell.data_type = "s"  # openpyxl set "f" for text starting with "="


def csv_cell(value: Any) -> Any:
    """A value for a CSV cell: text a spreadsheet would evaluate gets a leading ``'``."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_START)
        and not _PLAIN_NUMBER.match(value)
    ):
        return "'" + value
    return value

"""A report as an .xlsx workbook: a summary sheet (title, period, scope, each section's key
figures), then one sheet per section. Every text cell is written as text, never a formula
(``taydo.ingest.files.output.append_row``): station and alert names come from outside."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from taydo.ingest.files.output import append_row
from taydo.reports.service.base import Report, SectionResult

__all__ = ["render_xlsx"]

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_HEADER_FILL = PatternFill("solid", fgColor="DDE7F0")
_FORMATS = {"percent": "0.0%", "number": "0.00", "int": "0"}


def _sheet_name(result: SectionResult, taken: set[str]) -> str:
    base = "".join(c for c in result.title_vi if c not in "[]:*?/\\")[:28].strip()
    name, n = base, 2
    while name.lower() in taken:
        name, n = f"{base[:26]} {n}", n + 1
    taken.add(name.lower())
    return name


def _section_sheet(book: Workbook, result: SectionResult, name: str) -> None:
    sheet = book.create_sheet(name)
    append_row(sheet, [result.title_vi])
    sheet.cell(row=1, column=1).font = _TITLE
    append_row(sheet, [result.title_en])
    if not result.installed or result.note_vi:
        append_row(sheet, [result.note_vi])
        append_row(sheet, [result.note_en])
    append_row(sheet, [])
    if result.figures:
        for figure in result.figures:
            append_row(sheet, [figure.vi, figure.en, figure.value])
        append_row(sheet, [])
    if not result.columns:
        return
    append_row(sheet, [c.vi for c in result.columns])
    header = sheet.max_row
    append_row(sheet, [c.en for c in result.columns])
    for row in (header, header + 1):
        for position in range(1, len(result.columns) + 1):
            cell = sheet.cell(row=row, column=position)
            cell.font = _BOLD
            cell.fill = _HEADER_FILL
    for values in result.rows:
        append_row(sheet, values)
        row = sheet.max_row
        for index, column in enumerate(result.columns, start=1):
            number_format = _FORMATS.get(column.kind)
            if number_format:
                sheet.cell(row=row, column=index).number_format = number_format
    sheet.freeze_panes = sheet.cell(row=header + 2, column=1)
    for index, column in enumerate(result.columns, start=1):
        longest = max(
            [len(column.vi)] + [len(str(v[index - 1])) for v in result.rows if len(v) >= index]
        )
        sheet.column_dimensions[get_column_letter(index)].width = min(max(10, longest + 2), 60)


def render_xlsx(report: Report, generated_at: str) -> bytes:
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "Tóm tắt"
    lines: list[list[Any]] = [
        [report.title_vi],
        [report.title_en],
        ["Kỳ báo cáo / Period", report.period_label],
        ["Phạm vi / Scope", report.scope_label],
        ["Lập lúc / Generated", generated_at],
        [],
    ]
    for values in lines:
        append_row(summary, values)
    summary.cell(row=1, column=1).font = _TITLE
    for result in report.sections:
        append_row(summary, [result.title_vi, result.title_en])
        summary.cell(row=summary.max_row, column=1).font = _BOLD
        if not result.installed:
            append_row(summary, ["", result.note_vi, result.note_en])
        for figure in result.figures:
            append_row(summary, ["", figure.vi, figure.value, figure.en])
    summary.column_dimensions["A"].width = 40
    summary.column_dimensions["B"].width = 40
    taken = {"tóm tắt"}
    for result in report.sections:
        _section_sheet(book, result, _sheet_name(result, taken))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

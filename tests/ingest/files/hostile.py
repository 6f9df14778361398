"""Hostile spreadsheets, built for the tests: truncated sheet XML, entity bombs, a corrupt
deflate stream, a zip bomb (issue 18, #4 and #6)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import openpyxl

SHEET = "xl/worksheets/sheet1.xml"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def workbook(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rebuild_member(data: bytes, name: str, content: bytes) -> bytes:
    """The workbook with one member's content replaced."""
    parts = members(data)
    parts[name] = content
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, body in parts.items():
            archive.writestr(member, body)
    return out.getvalue()


def truncated_sheet(data: bytes) -> bytes:
    sheet = members(data)[SHEET]
    return rebuild_member(data, SHEET, sheet[: len(sheet) // 2])


def billion_laughs(levels: int = 9, *, shared_strings: bool = False) -> bytes:
    """Sheet XML (or shared strings) whose one cell names an entity that expands to
    10**levels characters."""
    entities = ['<!ENTITY e0 "ha">']
    entities += [f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, levels + 1)]
    if shared_strings:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<!DOCTYPE sst [{''.join(entities)}]>"
            f'<sst xmlns="{MAIN_NS}" count="1" uniqueCount="1"><si><t>&e{levels};</t></si></sst>'
        ).encode()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<!DOCTYPE worksheet [{''.join(entities)}]>"
        f'<worksheet xmlns="{MAIN_NS}"><sheetData><row r="1">'
        f'<c r="A1" t="inlineStr"><is><t>&e{levels};</t></is></c>'
        "</row></sheetData></worksheet>"
    ).encode()


def corrupt_deflate(data: bytes, name: str = SHEET) -> bytes:
    """The workbook with bytes in the middle of one member's deflate stream overwritten
    (the directory, sizes and CRC left as they were)."""
    raw = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
    header = info.header_offset
    name_len = int.from_bytes(raw[header + 26 : header + 28], "little")
    extra_len = int.from_bytes(raw[header + 28 : header + 30], "little")
    start = header + 30 + name_len + extra_len
    middle = start + info.compress_size // 3
    raw[middle : middle + 16] = b"\xff" * 16
    return bytes(raw)


def zip_bomb(base: bytes, megabytes: int = 400) -> bytes:
    """``base`` with a first sheet whose one cell holds ``megabytes`` MB of text: a few
    hundred KB on the wire (the issue's case: 412 KB that inflates to 400 MB)."""
    parts = members(base)
    out = io.BytesIO()
    chunk = b"A" * (1 << 20)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, content in parts.items():
            if name != SHEET:
                archive.writestr(name, content)
        with archive.open(SHEET, "w", force_zip64=True) as sheet:
            sheet.write(
                f'<worksheet xmlns="{MAIN_NS}"><sheetData><row r="1">'
                '<c r="A1" t="inlineStr"><is><t>'.encode()
            )
            for _ in range(megabytes):
                sheet.write(chunk)
            sheet.write(b"</t></is></c></row></sheetData></worksheet>")
    return out.getvalue()


def long_cell(characters: int) -> bytes:
    """Sheet XML with a header row and one cell of ``characters`` characters (openpyxl
    truncates what it writes to Excel's limit, so this is written by hand)."""
    return (
        f'<worksheet xmlns="{MAIN_NS}"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Thời gian</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>' + "x" * characters + "</t></is></c></row>"
        "</sheetData></worksheet>"
    ).encode()

"""Reading agency files: .xlsx and .csv, Vietnamese formats, a saved column mapping.

Vietnamese conventions handled: dates ``dd/mm/yyyy`` (with ``HH:MM`` or ``HH:MM:SS``, ``/`` or
``-``), decimal comma with dot thousands (``1.234,5``); times without a zone are read in the
display time zone (Asia/Ho_Chi_Minh). CSV encodings: UTF-8 with or without BOM; anything else
is read as Windows-1258 (Vietnamese) and the report says it was a guess.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_validator

from taydo.core import clock
from taydo.core.inputs import INPUT_CONFIG

__all__ = [
    "FileRow",
    "Mapping",
    "ParsedFile",
    "parse_number",
    "parse_time",
    "read_table",
]

MAX_ROWS = 200_000
_THOUSANDS_DOT = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+$")
_VN_TIME = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


class Mapping(BaseModel):
    """A dataset's column mapping: which header holds the time, the station, each metric."""

    model_config = INPUT_CONFIG

    ts: str = Field(description="Header of the time column, e.g. 'Thời gian'.")
    entity: str = Field(description="Header of the station column (name, code or full id).")
    metrics: dict[str, str] = Field(
        description="Header → metric, e.g. {'Mực nước (m)': 'height'}.", min_length=1
    )
    sheet: str | None = Field(None, description="Worksheet to read (default: the first).")

    @field_validator("metrics")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        for header, metric in value.items():
            if not header.strip() or not metric.strip() or len(metric) > 80:
                raise ValueError("empty header or metric name")
        return value


@dataclass
class FileRow:
    number: int  # the row number as the spreadsheet shows it (header is row 1)
    cells: dict[str, Any]


@dataclass
class ParsedFile:
    rows: list[FileRow] = field(default_factory=list)
    encoding: str = "xlsx"
    headers: list[str] = field(default_factory=list)


def parse_number(raw: Any) -> float:
    """A number from a cell: Excel numbers as they are; text in Vietnamese or plain style."""
    if isinstance(raw, bool):
        raise ValueError("giá trị không phải số / not a number (a boolean)")
    if isinstance(raw, int | float):
        return float(raw)
    if not isinstance(raw, str):
        raise ValueError(f"giá trị không phải số / not a number ({type(raw).__name__})")
    text = raw.strip().replace("\u00a0", "").replace(" ", "")
    if not text or len(text) > 40:
        raise ValueError(f"giá trị không phải số / not a number: {raw[:40]!r}")
    if "," in text and "." in text:
        # the later separator is the decimal one: 1.234,5 (Vietnamese) or 1,234.5 (English)
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        if text.count(",") > 1:
            raise ValueError(f"số không rõ / ambiguous number {raw[:40]!r}")
        text = text.replace(",", ".")  # decimal comma
    elif _THOUSANDS_DOT.match(text):
        text = text.replace(".", "")  # 1.234 = one thousand two hundred thirty-four
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"giá trị không phải số / not a number: {raw[:40]!r}") from None


def parse_time(raw: Any, zone: ZoneInfo) -> int:
    """Epoch ms from a cell: an Excel date/time, dd/mm/yyyy [HH:MM[:SS]], or ISO 8601.
    Times without a zone are local (``zone``)."""
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, date):
        moment = datetime.combine(raw, time())
    elif isinstance(raw, str):
        text = raw.strip()
        match = _VN_TIME.match(text)
        if match:
            day, month, year, hour, minute, second = match.groups()
            try:
                moment = datetime(
                    int(year),
                    int(month),
                    int(day),
                    int(hour or 0),
                    int(minute or 0),
                    int(second or 0),
                    tzinfo=zone,
                )
            except ValueError:
                raise ValueError(f"ngày không tồn tại / no such date {text!r}") from None
        else:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(
                    f"thời gian không đọc được / unreadable time {text[:40]!r} "
                    "(dd/mm/yyyy HH:MM or ISO 8601)"
                ) from None
    else:
        raise ValueError(f"thời gian không đọc được / unreadable time ({type(raw).__name__})")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return clock.epoch_ms(moment)


def _decode(data: bytes) -> tuple[str, str]:
    """Text of a CSV file, in NFC (Windows-1258 writes tone marks as combining characters,
    which would never match a header or a station name typed in Unicode)."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return unicodedata.normalize("NFC", data[3:].decode("utf-8")), "utf-8 (BOM)"
        except UnicodeDecodeError:
            pass
    else:
        try:
            return unicodedata.normalize("NFC", data.decode("utf-8")), "utf-8"
        except UnicodeDecodeError:
            pass
    # Not UTF-8: Vietnamese Windows machines write Windows-1258. It decodes nearly any bytes,
    # so this is a guess, and the report says so.
    text = data.decode("cp1258", errors="replace")
    return unicodedata.normalize("NFC", text), "windows-1258 (đoán / guessed)"


def _csv(data: bytes) -> ParsedFile:
    text, encoding = _decode(data)
    sample = text[:20_000]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    parsed = ParsedFile(encoding=encoding)
    try:
        _csv_rows(reader, parsed)
    except csv.Error as exc:
        raise ValueError(f"CSV không đọc được / unreadable CSV: {exc}") from None
    return parsed


def _csv_rows(reader: Any, parsed: ParsedFile) -> None:
    for index, row in enumerate(reader):
        if index == 0:
            parsed.headers = [cell.strip() for cell in row]
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(parsed.rows) >= MAX_ROWS:
            raise ValueError(f"quá {MAX_ROWS} dòng / more than {MAX_ROWS} rows")
        parsed.rows.append(FileRow(index + 1, dict(zip(parsed.headers, row, strict=False))))


def _xlsx(data: bytes, sheet: str | None) -> ParsedFile:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ValueError(f"tệp .xlsx hỏng / not a readable .xlsx file: {exc}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise ValueError(f"không có trang / no worksheet {sheet!r}: {book.sheetnames}")
        worksheet = book[sheet] if sheet else book.worksheets[0]
        parsed = ParsedFile(encoding="xlsx")
        for index, row in enumerate(worksheet.iter_rows(values_only=True)):
            if index == 0:
                parsed.headers = [str(c).strip() if c is not None else "" for c in row]
                continue
            if all(cell is None or str(cell).strip() == "" for cell in row):
                continue
            if len(parsed.rows) >= MAX_ROWS:
                raise ValueError(f"quá {MAX_ROWS} dòng / more than {MAX_ROWS} rows")
            parsed.rows.append(FileRow(index + 1, dict(zip(parsed.headers, row, strict=False))))
        return parsed
    finally:
        book.close()


def read_table(filename: str, data: bytes, sheet: str | None = None) -> ParsedFile:
    """Rows of a .xlsx or .csv (.txt) file, told apart by the file name."""
    lower = filename.lower()
    if lower.endswith(".xlsx"):
        return _xlsx(data, sheet)
    if lower.endswith((".csv", ".txt")):
        return _csv(data)
    raise ValueError(
        f"chỉ nhận .xlsx hoặc .csv / only .xlsx and .csv files are accepted, not {filename[:80]!r}"
    )

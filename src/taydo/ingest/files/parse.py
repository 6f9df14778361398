"""Reading agency files: .xlsx and .csv, Vietnamese formats, a saved column mapping.

Vietnamese conventions handled: dates ``dd/mm/yyyy`` (with ``HH:MM`` or ``HH:MM:SS``, ``/`` or
``-``), decimal comma with dot thousands (``1.234,5``); times without a zone are read in the
display time zone (Asia/Ho_Chi_Minh). CSV encodings: a byte order mark decides (UTF-8, UTF-16
LE/BE, UTF-32 LE/BE); without one, UTF-8, else Windows-1258 (Vietnamese), which the report
says was a guess; text holding NUL (UTF-16 saved without a BOM, or not text at all) is refused
with a message that says how to save the file.

Hostile files get a clear ``ValueError``, never an exception from deep inside a parser: an
.xlsx is a zip archive whose members are checked before anything is inflated (a small file
that inflates to hundreds of megabytes is refused by its declared sizes, which also bound
what is read); worksheet XML with a DTD (entity bombs) is refused by defusedxml, which
openpyxl uses when it is installed; a truncated or corrupt member is "not a readable .xlsx";
and no cell may hold more than Excel's own 32,767 characters.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_validator

from taydo.core import clock
from taydo.core.inputs import INPUT_CONFIG

__all__ = [
    "FileProblem",
    "FileRow",
    "Mapping",
    "ParsedFile",
    "parse_number",
    "parse_time",
    "read_table",
]

MAX_ROWS = 200_000
MAX_CELL_CHARS = 32_767  # Excel's own limit: a longer cell was not written by a spreadsheet
# An .xlsx of MAX_ROWS rows inflates to well under this; a zip bomb inflates to far more.
MAX_XLSX_INFLATED = 256 * 1024 * 1024
MAX_XLSX_MEMBERS = 10_000
# Spreadsheet XML deflates about 5–30 times; 200 times is data made to inflate.
MAX_XLSX_RATIO = 200
_RATIO_FROM_BYTES = 1024 * 1024  # small members (styles, a tiny sheet) may deflate better
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
                raise ValueError(f"ngày không tồn tại / no such date {text[:40]!r}") from None
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


_BOMS = (  # longest first: the UTF-32 LE mark begins with the UTF-16 LE one
    (b"\xff\xfe\x00\x00", "utf-32-le", "utf-32 LE (BOM)"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "utf-32 BE (BOM)"),
    (b"\xef\xbb\xbf", "utf-8", "utf-8 (BOM)"),
    (b"\xff\xfe", "utf-16-le", "utf-16 LE (BOM)"),
    (b"\xfe\xff", "utf-16-be", "utf-16 BE (BOM)"),
)
_SAVE_AS = "lưu lại dạng 'CSV UTF-8' / save it as 'CSV UTF-8'"


def _decode(data: bytes) -> tuple[str, str]:
    """Text of a CSV file, in NFC (Windows-1258 writes tone marks as combining characters,
    which would never match a header or a station name typed in Unicode)."""
    text: str | None = None
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            try:
                text, encoding = data[len(bom) :].decode(codec), label
            except UnicodeDecodeError as exc:
                raise ValueError(
                    f"tệp có dấu BOM {label} nhưng nội dung không phải {codec} (byte "
                    f"{exc.start + len(bom)}) / the file starts with a {label} mark but is "
                    f"not {codec} (byte {exc.start + len(bom)}): {_SAVE_AS}"
                ) from None
            break
    if text is None:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            if b"\x00" not in data:
                # Not UTF-8: Vietnamese Windows machines write Windows-1258. It decodes
                # nearly any bytes, so this is a guess, and the report says so.
                text = data.decode("cp1258", errors="replace")
                encoding = "windows-1258 (đoán / guessed)"
    if text is None or "\x00" in text:
        raise ValueError(
            "không xác định được mã ký tự: tệp chứa byte NUL (UTF-16 không có BOM, hoặc không "
            "phải tệp văn bản) / the encoding cannot be decided: the file holds NUL bytes "
            f"(UTF-16 without a byte order mark, or not a text file): {_SAVE_AS}"
        )
    return unicodedata.normalize("NFC", text), encoding


DELIMITERS = (";", ",", "\t")
_HEADER_CHARS = 65_536


def _delimiter(text: str) -> str:
    """The delimiter of a CSV file: the one of ``;`` ``,`` tab found most often outside
    quotes in its header line (ties in that order), else ``,``.

    Not ``csv.Sniffer``: its quote-guessing regular expression is quadratic, and 20 KB of
    ``,"`` kept a worker busy for 14 s. A header line is short and names the columns."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in text[:_HEADER_CHARS]:
        if char == '"':
            quoted = not quoted
        elif char in "\r\n" and not quoted:
            break
        elif char in counts and not quoted:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv(data: bytes) -> ParsedFile:
    text, encoding = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=_delimiter(text))
    parsed = ParsedFile(encoding=encoding)
    try:
        _csv_rows(reader, parsed)
    except csv.Error as exc:
        raise ValueError(f"CSV không đọc được / unreadable CSV: {exc}") from None
    return parsed


def _csv_rows(reader: Any, parsed: ParsedFile) -> None:
    for index, row in enumerate(reader):
        _check_cells(row, index + 1)
        if index == 0:
            parsed.headers = [cell.strip() for cell in row]
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(parsed.rows) >= MAX_ROWS:
            raise ValueError(f"quá {MAX_ROWS} dòng / more than {MAX_ROWS} rows")
        parsed.rows.append(FileRow(index + 1, dict(zip(parsed.headers, row, strict=False))))


class FileProblem(ValueError):
    """A file refused for a reason of ours (told apart from a parser's own ValueErrors)."""


def _check_cells(row: Iterable[Any], number: int) -> None:
    for cell in row:
        if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS:
            raise FileProblem(
                f"dòng {number} có ô dài hơn {MAX_CELL_CHARS} ký tự (giới hạn của Excel) / row "
                f"{number} has a cell longer than {MAX_CELL_CHARS} characters (Excel's limit)"
            )


def _unreadable(detail: str) -> ValueError:
    first_line = detail.split("\n", 1)[0]
    return ValueError(f"tệp .xlsx hỏng / not a readable .xlsx file: {first_line[:200]}")


def _parser_failure(exc: BaseException) -> ValueError:
    """Why openpyxl could not read the file, from the error or the one it wraps."""
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__module__.startswith("defusedxml"):
            return _unreadable(
                "khai báo thực thể XML (DTD), điều mà bảng tính không bao giờ ghi / it declares "
                "XML entities (a DTD), which no spreadsheet writes"
            )
        seen = seen.__cause__ or seen.__context__
    return _unreadable(f"{type(exc).__name__}: {exc}")


def _check_archive(data: bytes) -> None:
    """Refuse an .xlsx by its zip directory, before anything is inflated. The declared sizes
    can be trusted: the zip reader stops at them (and then fails the CRC check)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise _unreadable(f"{type(exc).__name__}: {exc}") from None
    if len(members) > MAX_XLSX_MEMBERS:
        raise _unreadable(f"more than {MAX_XLSX_MEMBERS} parts")
    inflated = sum(member.file_size for member in members)
    if inflated > MAX_XLSX_INFLATED:
        limit = MAX_XLSX_INFLATED // (1024 * 1024)
        raise ValueError(
            f"tệp .xlsx giải nén ra hơn {limit} MB / the .xlsx file inflates to more than "
            f"{limit} MB ({inflated // (1024 * 1024)} MB)"
        )
    for member in members:
        if member.file_size > _RATIO_FROM_BYTES and member.file_size > MAX_XLSX_RATIO * max(
            member.compress_size, 1
        ):
            raise ValueError(
                f"tệp .xlsx nén bất thường / the .xlsx file is compressed {MAX_XLSX_RATIO} "
                f"times or more (a zip bomb?): part {member.filename[:80]!r} inflates from "
                f"{member.compress_size} to {member.file_size} bytes"
            )


def _xlsx(data: bytes, sheet: str | None) -> ParsedFile:
    import openpyxl

    _check_archive(data)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises anything on a malformed file
        raise _parser_failure(exc) from None
    try:
        return _xlsx_rows(book, sheet)
    except FileProblem:
        raise  # ours, already clear
    except Exception as exc:  # truncated XML, corrupt deflate, a DTD, …
        raise _parser_failure(exc) from None
    finally:
        book.close()


def _xlsx_rows(book: Any, sheet: str | None) -> ParsedFile:
    if sheet is not None and sheet not in book.sheetnames:
        shown = ", ".join(repr(name[:40]) for name in book.sheetnames[:20])
        raise FileProblem(f"không có trang / no worksheet {sheet[:40]!r}; the file has {shown}")
    worksheet = book[sheet] if sheet else book.worksheets[0]
    parsed = ParsedFile(encoding="xlsx")
    for index, row in enumerate(worksheet.iter_rows(values_only=True)):
        _check_cells(row, index + 1)
        if index == 0:
            parsed.headers = [str(c).strip() if c is not None else "" for c in row]
            continue
        if all(cell is None or str(cell).strip() == "" for cell in row):
            continue
        if len(parsed.rows) >= MAX_ROWS:
            raise FileProblem(f"quá {MAX_ROWS} dòng / more than {MAX_ROWS} rows")
        parsed.rows.append(FileRow(index + 1, dict(zip(parsed.headers, row, strict=False))))
    return parsed


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

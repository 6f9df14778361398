"""Reading Vietnamese agency files: number and date formats, encodings; fuzzed rows."""

from __future__ import annotations

import io
import unicodedata
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taydo.ingest.files.parse import parse_number, parse_time, read_table
from tests.ingest.conftest import PARSER_DEADLINE

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12,5", 12.5),
        ("1.234,5", 1234.5),
        ("1.234.567", 1234567.0),
        ("1.234", 1234.0),  # a Vietnamese thousands dot
        ("1.5", 1.5),
        ("1,234.5", 1234.5),
        (" -0,75 ", -0.75),
        (3, 3.0),
        (2.25, 2.25),
    ],
)
def test_numbers(text: object, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1,2,3", True, None, "1e" + "9" * 50])
def test_not_numbers(text: object) -> None:
    with pytest.raises(ValueError):
        parse_number(text)


def test_times() -> None:
    # 01/02/2026 07:00 in Cần Thơ is 1 February 00:00 UTC
    assert parse_time("01/02/2026 07:00", VN) == 1_769_904_000_000
    assert parse_time("01-02-2026 07:00:00", VN) == 1_769_904_000_000
    assert parse_time("2026-02-01T00:00:00Z", VN) == 1_769_904_000_000
    assert parse_time("01/02/2026", VN) == 1_769_904_000_000 - 7 * 3_600_000
    with pytest.raises(ValueError, match="no such date"):
        parse_time("31/02/2026 07:00", VN)
    with pytest.raises(ValueError):
        parse_time("hôm qua", VN)


def cp1258(text: str) -> bytes:
    """Encode as Windows-1258 does: precomposed where it can, combining tone marks else."""
    out = b""
    for char in text:
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", char)
        try:
            out += unicodedata.normalize("NFC", parts[:2]).encode("cp1258")
            out += parts[2:].encode("cp1258")
        except UnicodeEncodeError:
            out += parts.encode("cp1258")
    return out


def test_csv_encodings_and_delimiters() -> None:
    text = "Thời gian;Trạm;Mực nước (m)\n01/02/2026 07:00;Trạm Ninh Kiều;1,25\n"
    utf8 = read_table("a.csv", text.encode("utf-8"))
    bom = read_table("a.csv", b"\xef\xbb\xbf" + text.encode("utf-8"))
    cp = read_table("a.csv", cp1258(text))
    assert utf8.encoding == "utf-8" and bom.encoding == "utf-8 (BOM)"
    assert "guessed" in cp.encoding
    for table in (utf8, bom, cp):
        assert table.headers == ["Thời gian", "Trạm", "Mực nước (m)"]
        assert table.rows[0].cells["Mực nước (m)"] == "1,25"
        assert table.rows[0].number == 2
    assert cp.rows[0].cells["Trạm"] == "Trạm Ninh Kiều"


def test_xlsx_and_broken_files() -> None:
    book = openpyxl.Workbook()
    book.active.append(["Thời gian", "Trạm", "Mực nước (m)"])
    book.active.append(["01/02/2026 07:00", "CT-1", 1.5])
    out = io.BytesIO()
    book.save(out)
    table = read_table("x.xlsx", out.getvalue())
    assert table.rows[0].cells == {
        "Thời gian": "01/02/2026 07:00",
        "Trạm": "CT-1",
        "Mực nước (m)": 1.5,
    }
    with pytest.raises(ValueError, match="xlsx"):
        read_table("x.xlsx", b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError):
        read_table("x.xls", b"\xd0\xcf\x11\xe0")


cells = st.one_of(
    st.text(max_size=60),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.binary(max_size=30),
)


@settings(deadline=PARSER_DEADLINE)
@given(cells)
def test_fuzzed_cells_give_a_value_or_a_reason(cell: object) -> None:
    for parse in (parse_number, lambda c: parse_time(c, VN)):
        try:
            parse(cell)
        except ValueError as exc:
            assert str(exc)


@settings(deadline=PARSER_DEADLINE)
@given(st.binary(max_size=2000))
def test_fuzzed_csv_bytes_never_crash(data: bytes) -> None:
    try:
        table = read_table("f.csv", data)
    except ValueError as exc:
        assert str(exc)
    else:
        assert all(row.number >= 2 for row in table.rows)

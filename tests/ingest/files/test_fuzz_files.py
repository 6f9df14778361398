"""Fuzzing the file gateway (issue 18): .xlsx and .csv, as bytes and through an upload.

Whatever a file holds, reading it gives rows or a ``ValueError`` with a reason (never another
exception: that would be a 500); an upload answers 201 or a 4xx, keeps the valid row that
rides along with the junk, never loses values stored before, and its row report opens with
no live formula in it.
"""

from __future__ import annotations

import csv
import io
from xml.sax.saxutils import escape

import openpyxl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from taydo.ingest.files.parse import read_table
from tests.ingest.conftest import PARSER_DEADLINE, REQUEST_DEADLINE
from tests.ingest.files.hostile import MAIN_NS, SHEET, members, rebuild_member, workbook
from tests.ingest.files.test_hostile_files import _formulas
from tests.ingest.files.test_upload import MAPPING, _dataset, _stored, _upload

HEADER = ["Thời gian", "Trạm", "Mực nước (m)", "Nhiệt độ (°C)"]
BASE = workbook([HEADER, ["01/02/2026 07:00", "NK-01", 2.5, None]] * 3)
PARSER = settings(
    max_examples=150,
    deadline=PARSER_DEADLINE,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
UPLOADS = settings(
    max_examples=25,
    deadline=REQUEST_DEADLINE,
    suppress_health_check=list(HealthCheck),
)


def _read(name: str, data: bytes) -> None:
    try:
        table = read_table(name, data)
    except ValueError as refused:
        assert str(refused) and len(str(refused)) < 600
    else:
        assert all(row.number >= 2 for row in table.rows)


# -- .xlsx bytes ---------------------------------------------------------------------------

cell_text = st.text(max_size=40)  # any code point: control characters, surrogates' escapes…
xml_tricks = st.sampled_from(
    [
        "&amp;",
        "&#0;",
        "&#xD800;",
        "&lt;",
        "_x0000_",
        "_x001F_",
        "&undefined;",
        "]]>",
        "<t>",
        "\x00",
        "\ufffe",
    ]
)


def _sheet_xml(rows: list[list[str]], raw: str) -> bytes:
    cells = "".join(
        f'<row r="{r}">'
        + "".join(
            f'<c r="{chr(65 + c)}{r}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'
            for c, text in enumerate(row[:26])
        )
        + "</row>"
        for r, row in enumerate(rows, start=1)
    )
    return (f'<worksheet xmlns="{MAIN_NS}"><sheetData>{cells}{raw}</sheetData></worksheet>').encode(
        "utf-8", "surrogatepass"
    )


@PARSER
@given(
    rows=st.lists(st.lists(st.one_of(cell_text, xml_tricks), max_size=5), max_size=6),
    raw=st.one_of(st.just(""), xml_tricks, cell_text),
)
def test_fuzzed_sheet_xml_gives_rows_or_a_reason(rows: list[list[str]], raw: str) -> None:
    _read("so-lieu.xlsx", rebuild_member(BASE, SHEET, _sheet_xml(rows, raw)))


@PARSER
@given(
    flips=st.lists(
        st.tuples(st.integers(0, len(BASE) - 1), st.integers(0, 255)), min_size=1, max_size=8
    ),
    cut=st.one_of(st.none(), st.integers(0, len(BASE))),
)
def test_fuzzed_xlsx_bytes_give_rows_or_a_reason(
    flips: list[tuple[int, int]], cut: int | None
) -> None:
    data = bytearray(BASE)
    for position, value in flips:
        data[position] = value
    _read("so-lieu.xlsx", bytes(data[:cut]))


@PARSER
@given(
    part=st.sampled_from(sorted(members(BASE))),
    content=st.one_of(st.binary(max_size=300), cell_text.map(str.encode)),
)
def test_any_part_of_an_xlsx_replaced_gives_rows_or_a_reason(part: str, content: bytes) -> None:
    _read("so-lieu.xlsx", rebuild_member(BASE, part, content))


@PARSER
@given(data=st.binary(max_size=3000))
@example(data=b"\xff\xfe" + "Thời gian;Trạm\n".encode("utf-16-le"))
@example(data=b"\xfe\xff\x00")
@example(data=b"\x00\x00\xfe\xff\x00\x00\x00")
@example(data=b',"' * 10_000)  # csv.Sniffer's quadratic regex took 14 s on this
@example(data=b';"a' * 7_000)
def test_fuzzed_csv_bytes_give_rows_or_a_reason(data: bytes) -> None:
    _read("so-lieu.csv", data)


# -- uploads: the valid row that rides along is kept -----------------------------------------

spreadsheet_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30
) | st.sampled_from(["=1+1", "=cmd|' /C calc'!A0", "@SUM(A1)", "+1", "-1,5", "1.234,5", "32/02"])
junk_cell = st.one_of(
    spreadsheet_text, st.floats(allow_nan=False), st.integers(-(2**40), 2**40), st.none()
)
junk_rows = st.lists(st.lists(junk_cell, min_size=0, max_size=5), max_size=8)


def _setup(client, database, headers_for):  # type: ignore[no-untyped-def]
    _dataset(database)
    operator = headers_for("operator")
    client.put("/api/v1/datasets/muc-nuoc-tay/column-mapping", headers=operator, json=MAPPING)
    return operator


def test_fuzzed_xlsx_uploads_keep_the_valid_row(client, database, headers_for) -> None:  # type: ignore[no-untyped-def]
    operator = _setup(client, database, headers_for)
    counter = iter(range(10**6))

    @UPLOADS
    @given(rows=junk_rows)
    def check(rows: list[list[object]]) -> None:
        number = next(counter)
        day, hour = 1 + number // 24, number % 24
        valid = [f"{day:02d}/02/2026 {hour:02d}:00", "NK-01", 1.5, None]
        before = len(_stored(database))
        answer = _upload(client, operator, workbook([HEADER, *rows, valid]), name="so-lieu.xlsx")
        assert answer.status_code == 201, answer.text[:300]
        assert answer.json()["values_stored"] >= 1
        assert len(_stored(database)) >= before + 1
        report = client.get(answer.json()["report"], headers=operator)
        assert report.status_code == 200 and _formulas(report.content) == []
        assert openpyxl.load_workbook(io.BytesIO(report.content))["Tóm tắt"]["B1"].value

    check()


def test_fuzzed_csv_uploads_keep_the_valid_row(client, database, headers_for) -> None:  # type: ignore[no-untyped-def]
    operator = _setup(client, database, headers_for)
    counter = iter(range(10**6))
    any_text = st.text(max_size=30).filter(lambda t: "\x00" not in t)
    csv_cell = st.one_of(spreadsheet_text, any_text, st.none())

    @UPLOADS
    @given(
        rows=st.lists(st.lists(csv_cell, max_size=5), max_size=8),
        encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-be+bom"]),
        delimiter=st.sampled_from([";", ",", "\t"]),
    )
    def check(rows: list[list[str | None]], encoding: str, delimiter: str) -> None:
        number = next(counter)
        day, hour = 1 + number // 24, number % 24
        out = io.StringIO()
        writer = csv.writer(out, delimiter=delimiter)
        writer.writerow(HEADER)
        writer.writerows(rows)
        writer.writerow([f"{day:02d}/02/2026 {hour:02d}:00", "NK-01", "1,5", ""])
        text = out.getvalue()
        if encoding == "utf-16-be+bom":
            data = b"\xfe\xff" + text.encode("utf-16-be", "surrogatepass")
        else:
            data = text.encode(encoding, "surrogatepass")
        before = len(_stored(database))
        answer = _upload(client, operator, data)
        assert answer.status_code in (201, 422), answer.text[:300]
        assert len(_stored(database)) >= before  # nothing accepted before is lost
        if answer.status_code == 422:
            # Only a file no reader could take as a table: lone surrogates in the text, or
            # a sniffer that found no columns in the junk.
            assert answer.json()["error"], answer.text
            return
        assert answer.json()["values_stored"] >= 1, answer.json()
        report = client.get(answer.json()["report"], headers=operator)
        assert report.status_code == 200 and _formulas(report.content) == []

    check()

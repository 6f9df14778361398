"""Importing workforce files: all or nothing by default, the good rows on request, a per-row
report either way, upserts by natural key, agency scope, and hostile files."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from taydo.auth import journal
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Invalid, NotFound
from taydo.workforce import service
from taydo.workforce.models import Course, Training
from tests.ingest.files import hostile
from tests.workforce.conftest import csv_file

COURSE_HEADERS = (
    "Mã khóa học", "Tên khóa học", "Mã cơ quan tổ chức", "Nhóm đối tượng", "Hình thức",
    "Số giờ", "Ngày bắt đầu", "Ngày kết thúc",
)  # fmt: skip
TRAINING_HEADERS = ("Mã khóa học", "Mã cơ quan", "Mã phường/xã", "Số đăng ký", "Số hoàn thành")
ADMIN = Principal(username="tester", role="admin")

GOOD_COURSES = csv_file(
    COURSE_HEADERS,
    ("KNS-01", "Kỹ năng số cơ bản", "SKHCN", "Người dân", "Trực tiếp", "8", "01/03/2026",
     "15/03/2026"),
    ("CCVC-01", "Chuyển đổi số cho công chức", "SKHCN", "civil_servants", "Kết hợp", "16,5",
     "01/04/2026", "30/04/2026"),
)  # fmt: skip


def _count(database: Database, model: type) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_good_file_is_stored_and_importing_it_again_updates(loaded: Database) -> None:
    first = service.import_file(loaded, ADMIN, "courses", "khoa-hoc.csv", GOOD_COURSES)
    assert (first["status"], first["rows"], first["rows_stored"]) == ("stored", 2, 2)
    assert first["problems"] == []
    again = service.import_file(loaded, ADMIN, "courses", "khoa-hoc.csv", GOOD_COURSES)
    assert again["status"] == "stored"
    entries = journal.timeline(loaded, "workforce_import", first["id"])
    assert [(e["action"], e["actor"]) for e in entries] == [("workforce.import", "tester")]
    assert entries[0]["summary"]["rows_stored"] == 2
    assert journal.verify(loaded).ok
    assert _count(loaded, Course) == 2  # updated by code, not duplicated
    with loaded.session() as session:
        course = session.scalar(select(Course).where(Course.code == "CCVC-01"))
        assert course is not None
        assert (course.group, course.mode, course.hours) == ("civil_servants", "blended", 16.5)


def test_a_file_with_errors_stores_nothing_and_reports_each_row(loaded: Database) -> None:
    service.import_file(loaded, ADMIN, "courses", "khoa-hoc.csv", GOOD_COURSES)
    data = csv_file(
        TRAINING_HEADERS,
        ("KNS-01", "SKHCN", "31135", "120", "100"),  # row 2: good
        ("KNS-01", "SKHCN", "99999", "50", "40"),  # row 3: no such ward
        ("KHONG-CO", "SKHCN", "31186", "10", "5"),  # row 4: no such course
        ("KNS-01", "SKHCN", "31186", "10", "12"),  # row 5: more completed than enrolled
        ("KNS-01", "SKHCN", "31135", "1", "1"),  # row 6: the same key as row 2
        ("KNS-01", "KHONG-CO", "", "mười", "1"),  # row 7: no agency, not a number
    )
    summary = service.import_file(loaded, ADMIN, "training", "dang-ky.csv", data)
    assert (summary["status"], summary["rows"], summary["rows_rejected"]) == ("rejected", 6, 5)
    assert summary["rows_stored"] == 0
    assert _count(loaded, Training) == 0
    by_row = {(p["row"], p["column"]) for p in summary["problems"]}
    assert by_row == {
        (3, "Mã phường/xã"),
        (4, "Mã khóa học"),
        (5, "Số hoàn thành"),
        (6, "Mã khóa học, Mã cơ quan, Mã phường/xã"),
        (7, "Mã cơ quan"),
        (7, "Số đăng ký"),
    }
    reasons = " ".join(p["reason"] for p in summary["problems"])
    assert "99999" in reasons and "KHONG-CO" in reasons and "trùng dòng 2" in reasons

    # The same file stores its good row when asked to.
    partial = service.import_file(
        loaded, ADMIN, "training", "dang-ky.csv", data, mode="accept_valid"
    )
    assert (partial["status"], partial["rows_stored"], partial["rows_rejected"]) == (
        "partial",
        1,
        5,
    )
    with loaded.session() as session:
        stored = session.execute(
            select(Training.area_code, Training.enrolled, Training.completed)
        ).all()
    assert [tuple(r) for r in stored] == [("31135", 120, 100)]


def test_the_report_workbook_reads_back_and_keeps_formulas_as_text(loaded: Database) -> None:
    data = csv_file(
        COURSE_HEADERS,
        ("=HYPERLINK(\"http://x\")", "Tên", "SKHCN", "Người dân", "Trực tiếp", "8",
         "31/02/2026", "15/03/2026"),
    )  # fmt: skip
    summary = service.import_file(loaded, ADMIN, "courses", "=cmd|' /C calc'!A0.csv", data)
    assert summary["status"] == "rejected"
    book = openpyxl.load_workbook(io.BytesIO(service.report_xlsx(loaded, ADMIN, summary["id"])))
    cells = {row[0].value: row[1] for row in book["Tóm tắt"].iter_rows()}
    assert cells["Tệp / File"].value == "=cmd|' /C calc'!A0.csv"
    assert cells["Tệp / File"].data_type == "s"  # a string cell, never a live formula
    problems = list(book["Lỗi theo dòng"].iter_rows(min_row=2, values_only=True))
    assert problems == [
        (2, "Ngày bắt đầu", "31/02/2026", "ngày không đọc được / unreadable date '31/02/2026' "
         "(dd/mm/yyyy)")
    ]  # fmt: skip


def test_an_xlsx_filled_from_the_template_is_imported(loaded: Database) -> None:
    template = openpyxl.load_workbook(io.BytesIO(service.template_xlsx("teams")))
    headers = [cell.value for cell in template["Số liệu"][1]]
    assert headers == [
        "Mã tổ", "Mã phường/xã", "Ấp/khu vực", "Mã cơ quan", "Số thành viên", "Ngày thành lập",
    ]  # fmt: skip
    assert "Giá trị" not in template.sheetnames  # teams have no choice columns
    sheet = template["Số liệu"]
    from datetime import datetime

    sheet.append(["T-NK-01", 31135, "Khu vực 1", "UBND-NINHKIEU", 7, datetime(2025, 3, 1)])
    sheet.append(["T-NK-02", "31135", "Khu vực 2", "UBND-NINHKIEU", "5", "15/04/2025"])
    out = io.BytesIO()
    template.save(out)
    summary = service.import_file(loaded, ADMIN, "teams", "to-cong-nghe.xlsx", out.getvalue())
    assert (summary["status"], summary["rows_stored"]) == ("stored", 2), summary["problems"]


def test_missing_columns_and_unknown_kinds_are_refused_clearly(loaded: Database) -> None:
    with pytest.raises(Invalid) as refused:
        service.import_file(loaded, ADMIN, "courses", "a.csv", csv_file(("Mã khóa học",)))
    assert "Tên khóa học" in refused.value.message
    assert refused.value.details["found"] == ["Mã khóa học"]
    with pytest.raises(NotFound):
        service.import_file(loaded, ADMIN, "salaries", "a.csv", GOOD_COURSES)
    with pytest.raises(Invalid):
        service.import_file(loaded, ADMIN, "courses", "a.pdf", GOOD_COURSES)
    with pytest.raises(Invalid):
        service.import_file(loaded, ADMIN, "courses", "a.csv", GOOD_COURSES, mode="some")


def test_an_officer_enters_only_their_agencys_rows(loaded: Database) -> None:
    officer = Principal(username="nk", role="agency_officer", agencies=frozenset({"UBND-NINHKIEU"}))
    data = csv_file(
        ("Năm", "Mã cơ quan", "Loại nhân lực", "Số người"),
        ("2026", "UBND-NINHKIEU", "Cán bộ, công chức, viên chức", "45"),
        ("2026", "SYT", "Cán bộ, công chức, viên chức", "900"),
    )
    summary = service.import_file(loaded, officer, "staff", "nhan-luc.csv", data)
    assert summary["status"] == "rejected"
    assert [(p["row"], p["column"]) for p in summary["problems"]] == [(3, "Mã cơ quan")]
    # SYT's officers see the report of a file naming their agency; others do not.
    syt = Principal(username="syt", role="agency_officer", agencies=frozenset({"SYT"}))
    other = Principal(username="sxd", role="agency_officer", agencies=frozenset({"SXD"}))
    assert service.get_import(loaded, syt, summary["id"])["id"] == summary["id"]
    with pytest.raises(NotFound):
        service.get_import(loaded, other, summary["id"])


HEADERS_ONLY = hostile.workbook([list(COURSE_HEADERS)])


def _xlsx_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", "<a>" + "0" * (50 * 1024 * 1024) + "</a>")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("bomb.xlsx", _xlsx_bomb()),
        ("cut.xlsx", service.template_xlsx("courses")[:300]),
        ("utf16.csv", "Mã tổ;Số\n".encode("utf-16-le")),
        ("long.csv", csv_file(COURSE_HEADERS, ("x" * 40_000, "", "", "", "", "", "", ""))),
        # the agency-upload gateway's hostile workbooks (issue 18): the same reader refuses them
        (
            "laughs.xlsx",
            hostile.rebuild_member(HEADERS_ONLY, hostile.SHEET, hostile.billion_laughs()),
        ),
        ("truncated.xlsx", hostile.truncated_sheet(HEADERS_ONLY)),
        ("deflate.xlsx", hostile.corrupt_deflate(HEADERS_ONLY)),
        ("zip.xlsx", hostile.zip_bomb(HEADERS_ONLY, 300)),
        (
            "cell.xlsx",
            hostile.rebuild_member(HEADERS_ONLY, hostile.SHEET, hostile.long_cell(40_000)),
        ),
    ],
)
def test_hostile_files_get_a_clear_refusal(loaded: Database, name: str, data: bytes) -> None:
    with pytest.raises(Invalid) as refused:
        service.import_file(loaded, ADMIN, "courses", name, data)
    assert "/" in refused.value.message  # Vietnamese / English reason
    assert _count(loaded, Course) == 0


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cells=st.lists(st.lists(st.text(max_size=12), min_size=8, max_size=8), min_size=1, max_size=4),
    mode=st.sampled_from(service.MODES),
)
def test_any_csv_is_answered_with_a_report_never_a_crash(
    loaded: Database, cells: list[list[str]], mode: str
) -> None:
    def clean(cell: str) -> str:  # one CSV cell: no separators, quotes or line breaks
        return "".join(" " if ch in ';"\r\n' else ch for ch in cell)

    lines = [";".join(COURSE_HEADERS), *(";".join(clean(c) for c in row) for row in cells)]
    text = "\n".join(lines)
    try:
        summary = service.import_file(
            loaded, ADMIN, "courses", "fuzz.csv", text.encode(), mode=mode
        )
    except Invalid:
        return  # a whole-file refusal (encoding, NUL, …) is a clear answer too
    assert summary["status"] in ("stored", "partial", "rejected")
    assert summary["rows_stored"] + summary["rows_rejected"] <= summary["rows"]
    if mode == "all_or_nothing" and summary["problems"]:
        assert summary["rows_stored"] == 0


def test_team_activities_follow_their_team_and_its_agency(loaded: Database) -> None:
    teams = csv_file(
        ("Mã tổ", "Mã phường/xã", "Ấp/khu vực", "Mã cơ quan", "Số thành viên", "Ngày thành lập"),
        ("NK-1", "31135", "Khu vực 1", "UBND-NINHKIEU", "6", "01/02/2026"),
    )
    assert service.import_file(loaded, ADMIN, "teams", "t.csv", teams)["status"] == "stored"
    activity = csv_file(
        ("Mã tổ", "Tháng", "Số buổi hỗ trợ", "Số hộ được hỗ trợ"),
        ("NK-1", "03/2026", "4", "35"),
        ("NK-1", "13/2026", "1", "1"),  # no such month
    )
    cai_rang = Principal(username="cr", role="agency_officer", agencies=frozenset({"UBND-CAIRANG"}))
    refused = service.import_file(loaded, cai_rang, "team_activities", "a.csv", activity)
    assert [(p["row"], p["column"]) for p in refused["problems"]] == [
        (2, "Mã tổ"),
        (3, "Mã tổ"),
        (3, "Tháng"),
    ]
    ninh_kieu = Principal(
        username="nk", role="agency_officer", agencies=frozenset({"UBND-NINHKIEU"})
    )
    kept = service.import_file(
        loaded, ninh_kieu, "team_activities", "a.csv", activity, mode="accept_valid"
    )
    assert (kept["status"], kept["rows_stored"]) == ("partial", 1)
    this_year = service.summary(loaded, ninh_kieu, year=2026)
    assert [(t["code"], t["sessions"], t["households"]) for t in this_year["teams"]] == [
        ("NK-1", 4, 35)
    ]

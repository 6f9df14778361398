"""The daily and monthly reports, read back: the text of the PDF (Vietnamese diacritics
intact, the chart embedded) and the cells of the workbook (text never a formula)."""

from __future__ import annotations

import io
from datetime import timedelta

import openpyxl
import pytest
from pypdf import PdfReader

from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Forbidden, Invalid
from taydo.reports.service import build_report, render

from .conftest import DAY, TRICKY_NAME, TZ


def _pdf_text(content: bytes) -> tuple[str, PdfReader]:
    reader = PdfReader(io.BytesIO(content))
    # Table cells wrap and justify: compare text with its whitespace collapsed.
    text = " ".join(page.extract_text() for page in reader.pages)
    return " ".join(text.split()), reader


def test_daily_pdf_reads_back_in_vietnamese(database: Database, city: dict[str, int]) -> None:
    report = build_report(database, kind="daily", tz=TZ, day=DAY)
    rendered = render(report, "pdf", TZ, clock.now())
    assert rendered.filename == "taydo-daily-2026-11-20.pdf"
    assert rendered.content.startswith(b"%PDF")
    text, reader = _pdf_text(rendered.content)
    for expected in (
        "Báo cáo giao ban hằng ngày",
        "Kỳ báo cáo / Period: 20/11/2026",
        "Mực nước cao nhất so với Báo động 3",
        "Trạm thủy văn Cần Thơ",
        "Báo động 3",
        "2,15",  # the day's peak, Vietnamese decimal comma
        "Cảnh báo tiếp nhận chậm",
        "Mực nước vượt ngưỡng — cảnh báo một",  # the late one (45 min)
        "Giờ có chỉ số VN_AQI xấu nhất theo trạm",
        "20/11/2026 08:00",
        "Xấu",  # VN_AQI 162's band
        "Không có sự cố nào trong kỳ.",  # the incidents section, over no incident
        # 10-min dataset, hourly values: stale; its agency by name, the code beside it
        "Mực nước Đài Khí tượng Thủy văn DKTTV Quá hạn 20/11/2026 23:00",
    ):
        assert expected in text, expected
    # the alert of the day before is not in the daily report
    assert "cảnh báo ba" not in text
    images = sum(len(page.images) for page in reader.pages)
    assert images >= 2  # the severity and water-level charts
    fonts = {
        str(font["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any("DejaVu" in name for name in fonts)


def test_daily_xlsx_cells(database: Database, city: dict[str, int]) -> None:
    report = build_report(database, kind="daily", tz=TZ, day=DAY)
    rendered = render(report, "xlsx", TZ, clock.now())
    book = openpyxl.load_workbook(io.BytesIO(rendered.content))
    assert book.sheetnames[0] == "Tóm tắt"
    summary = [
        [c for c in row if c is not None] for row in book["Tóm tắt"].iter_rows(values_only=True)
    ]
    assert ["Kỳ báo cáo / Period", "20/11/2026"] in summary
    assert ["Cảnh báo phát sinh", 3, "Alerts raised"] in summary  # 3 on the day
    water = book["Mực nước cao nhất so với Báo"]
    rows = list(water.iter_rows(values_only=True))
    station = next(r for r in rows if r[0] == "Trạm thủy văn Cần Thơ")
    assert station[1:7] == ("Phường Ninh Kiều", "31117", 2.15, 2.0, 0.15, "Báo động 3")
    tricky = next(r for r in water.iter_rows() if r[0].value == TRICKY_NAME)
    assert tricky[0].data_type == "s"  # text, never a live formula
    severity = {r[0]: r[2] for r in book["Cảnh báo trong kỳ"].iter_rows(values_only=True)}
    assert severity["Nguy hiểm"] == 1 and severity["Theo dõi"] == 1 and severity["Cảnh báo"] == 1
    assert severity["Khẩn cấp"] == 0
    # an area and an agency by name, their codes beside them (every export's convention)
    listed = next(book[n] for n in book.sheetnames if n.startswith("Danh sách cảnh báo"))
    cells = list(listed.iter_rows(values_only=True))
    head = next(r for r in cells if "Mã cơ quan" in r)
    row = next(r for r in cells if r[head.index("Mã khu vực")] == "31117")
    first = dict(zip(head, row, strict=True))
    assert (first["Khu vực"], first["Mã khu vực"]) == ("Phường Ninh Kiều", "31117")
    assert first["Mã cơ quan"] in ("DKTTV", "SNNMT")
    assert first["Cơ quan"] in ("Đài Khí tượng Thủy văn", "Sở Nông nghiệp và Môi trường")


def test_agency_officer_sees_only_own_agency(database: Database, city: dict[str, int]) -> None:
    officer = Principal(username="o", role="agency_officer", agencies=frozenset({"SNNMT"}))
    report = build_report(database, kind="daily", tz=TZ, day=DAY, principal=officer)
    alerts = next(s for s in report.sections if s.code == "alerts")
    assert alerts.figures[0].value == 1  # only SNNMT's alert of the day
    water = next(s for s in report.sections if s.code == "water-levels")
    assert water.rows == []  # the stations are DKTTV's
    with pytest.raises(Forbidden):
        build_report(database, kind="daily", tz=TZ, day=DAY, agency="DKTTV", principal=officer)


def test_monthly_report_covers_the_month(database: Database, city: dict[str, int]) -> None:
    report = build_report(database, kind="monthly", tz=TZ, day=DAY + timedelta(days=5))
    assert report.period_label == "11/2026"
    assert report.scope.start.astimezone(TZ).day == 1
    codes = [s.code for s in report.sections]
    assert "scorecards" in codes and "dti" in codes and "alerts-list" not in codes
    alerts = next(s for s in report.sections if s.code == "alerts")
    assert alerts.figures[0].value == 4  # every alert of November
    dti = next(s for s in report.sections if s.code == "dti")
    assert dti.installed and dti.note_en == "No province configured."
    text, _reader = _pdf_text(render(report, "pdf", TZ, clock.now()).content)
    assert "Bảng điểm cơ quan" in text and "Sở Nông nghiệp và Môi trường" in text
    assert "Báo cáo tháng về KPI và chuyển đổi số" in text


def test_refuses_bad_kind_format_and_date(database: Database) -> None:
    with pytest.raises(Invalid):
        build_report(database, kind="weekly", tz=TZ, day=DAY)
    with pytest.raises(Invalid):
        build_report(database, kind="daily", tz=TZ, day=DAY.replace(year=9999))
    report = build_report(database, kind="daily", tz=TZ, day=DAY)
    with pytest.raises(Invalid):
        render(report, "docx", TZ, clock.now())


def test_empty_city_still_makes_both_files(database: Database) -> None:
    report = build_report(database, kind="daily", tz=TZ, day=DAY)
    text, _reader = _pdf_text(render(report, "pdf", TZ, clock.now()).content)
    assert "Không có cảnh báo nào trong kỳ." in text
    book = openpyxl.load_workbook(io.BytesIO(render(report, "xlsx", TZ, clock.now()).content))
    assert len(book.sheetnames) == 1 + len(report.sections)


def test_an_officers_report_names_its_agencies(database: Database, city: dict[str, int]) -> None:
    officer = Principal(username="o", role="agency_officer", agencies=frozenset({"SNNMT"}))
    report = build_report(database, kind="daily", tz=TZ, day=DAY, principal=officer)
    rendered = render(report, "pdf", TZ, clock.now())
    assert rendered.filename == "taydo-daily-2026-11-20-SNNMT.pdf"
    text, _reader = _pdf_text(rendered.content)
    assert "Phạm vi / Scope: SNNMT" in text

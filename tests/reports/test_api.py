"""The reports API and console pages: who may generate, download and schedule, what a bad
request is told, and the file that comes back."""

from __future__ import annotations

import io
from collections.abc import Callable

import openpyxl
from fastapi.testclient import TestClient
from pypdf import PdfReader

from taydo.core.db import Database

from .conftest import make_city

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_download_a_report_over_the_api(
    client: TestClient, database: Database, headers_for: Callable[..., dict[str, str]]
) -> None:
    make_city(database)
    viewer = headers_for("viewer")
    answer = client.get(
        "/api/v1/reports/daily", params={"date": "2026-11-20", "format": "xlsx"}, headers=viewer
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == XLSX
    assert 'filename="taydo-daily-2026-11-20.xlsx"' in answer.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert "Mực nước cao nhất so với Báo" in book.sheetnames
    answer = client.get("/api/v1/reports/monthly", params={"date": "2026-11-03"}, headers=viewer)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(answer.content)).pages)
    assert "Báo cáo tháng về KPI và chuyển đổi số" in " ".join(text.split())


def test_bad_requests_get_reasons(
    client: TestClient, headers_for: Callable[..., dict[str, str]]
) -> None:
    viewer = headers_for("viewer")
    assert client.get("/api/v1/reports/daily").status_code == 401
    for params in ({"date": "20-11-2026"}, {"format": "docx"}, {"date": "9999-12-31"}):
        answer = client.get("/api/v1/reports/daily", params=params, headers=viewer)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.json()["error"]
    assert client.get("/api/v1/reports/weekly", headers=viewer).status_code == 422


def test_an_officer_reports_only_on_their_agencies(
    client: TestClient, database: Database, headers_for: Callable[..., dict[str, str]]
) -> None:
    make_city(database)
    officer = headers_for("agency_officer", ["SNNMT"])
    params = {"date": "2026-11-20", "format": "xlsx", "agency": "DKTTV"}
    assert client.get("/api/v1/reports/daily", params=params, headers=officer).status_code == 403
    params["agency"] = "SNNMT"
    answer = client.get("/api/v1/reports/daily", params=params, headers=officer)
    assert answer.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    summary = [[c for c in r if c is not None] for r in book["Tóm tắt"].iter_rows(values_only=True)]
    assert ["Cảnh báo phát sinh", 1, "Alerts raised"] in summary  # SNNMT's one alert
    cards = client.get("/api/v1/scorecards", params={"month": "2026-11-01"}, headers=officer)
    assert [a["code"] for a in cards.json()["agencies"]] == ["SNNMT"]


def test_scorecards_api(
    client: TestClient, database: Database, headers_for: Callable[..., dict[str, str]]
) -> None:
    make_city(database)
    answer = client.get(
        "/api/v1/scorecards", params={"month": "2026-11-20"}, headers=headers_for("leader")
    )
    assert answer.status_code == 200
    found = {a["code"]: a for a in answer.json()["agencies"]}
    dkttv = found["DKTTV"]["measures"]
    # as of the end of November (the values stop on the 20th): stale, so 0 % fresh → red
    assert dkttv["freshness"] == {"value": 0.0, "status": "red"}
    assert dkttv["quarantine"] == {"value": None, "status": "grey"}  # nothing in its last 24 h
    assert dkttv["incidents"] == {"value": None, "status": "grey"}  # no incident: no data
    assert found["DKTTV"]["status"] == "red"


def test_report_jobs_need_the_schedule_permission(
    client: TestClient, headers_for: Callable[..., dict[str, str]]
) -> None:
    body = {
        "code": "giao-ban",
        "kind": "daily",
        "cron": "0 7 * * *",
        "recipients": ["lanhdao@cantho.gov.vn"],
        "channel": "mail",
    }
    assert (
        client.post("/api/v1/report-jobs", json=body, headers=headers_for("viewer")).status_code
        == 403
    )
    operator = headers_for("operator")
    created = client.post("/api/v1/report-jobs", json=body, headers=operator)
    assert created.status_code == 201, created.text
    assert created.json()["cron"] == "0 7 * * *"
    assert client.post("/api/v1/report-jobs", json=body, headers=operator).status_code == 409
    bad = client.post("/api/v1/report-jobs", json={**body, "cron": "0 7 31 2 *"}, headers=operator)
    assert bad.status_code == 422 and "cron" in bad.text
    assert [j["code"] for j in client.get("/api/v1/report-jobs", headers=operator).json()] == [
        "giao-ban"
    ]
    assert client.delete("/api/v1/report-jobs/giao-ban", headers=operator).status_code == 204
    assert client.delete("/api/v1/report-jobs/giao-ban", headers=operator).status_code == 404
    audit = client.get("/api/v1/audit", params={"action": "report.*"}, headers=headers_for("admin"))
    entries = audit.json()["items"]
    assert {"report.job.create", "report.job.delete"} <= {e["action"] for e in entries}


def test_console_pages(
    client: TestClient, database: Database, headers_for: Callable[..., dict[str, str]]
) -> None:
    make_city(database)
    leader = headers_for("leader")
    page = client.get("/reports", headers=leader)
    assert page.status_code == 200
    assert "Lập báo cáo" in page.text and "Chưa cài đặt" not in page.text  # every section wired
    assert "Lịch gửi báo cáo" not in page.text  # a leader does not schedule
    assert "Lịch gửi báo cáo" in client.get("/reports", headers=headers_for("operator")).text
    answer = client.get(
        "/reports/download",
        params={"kind": "daily", "day": "2026-11-20", "format": "pdf"},
        headers=leader,
    )
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF")
    bad = client.get("/reports/download", params={"day": "hôm qua"}, headers=leader)
    assert bad.status_code == 422
    cards = client.get(
        "/scorecards", params={"month": "2026-11", "sort": "freshness"}, headers=leader
    )
    assert cards.status_code == 200
    assert "Bảng điểm cơ quan" in cards.text and "score-red" in cards.text
    # 0 % before no data (agencies by name: DKTTV before SNNMT)
    assert cards.text.index("Đài Khí tượng Thủy văn") < cards.text.index("Sở Nông nghiệp và Môi")

"""Entering KPI values from a spreadsheet: a report per row, nothing imported when a row is
bad unless asked (accept_valid), Vietnamese headers and number formats."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import openpyxl
from fastapi.testclient import TestClient

from taydo.core.db import Database

Headers = Callable[..., dict[str, str]]
URL = "/api/v1/kpis/ho-so-cong-viec-cap-xa/entries/upload"


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Kỳ", "Phường, xã", "Giá trị", "Minh chứng"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


ROWS = [
    ["2026-Q3", "31135", 62.5, "Báo cáo 7/BC-UBND"],
    ["2026-Q3", "31120", "58,25", "Báo cáo 8/BC-UBND"],  # a decimal comma
    ["2026-Q5", "31174", 40, "Báo cáo 9/BC-UBND"],  # no such quarter
    ["2026-Q3", "99999", 40, "Báo cáo 9/BC-UBND"],  # no such ward
    ["2026-Q3", "31340", "nhiều", "Báo cáo 9/BC-UBND"],  # not a number
    ["2026-Q3", "31321", 45, ""],  # no evidence
]


def _values(client: TestClient, headers: dict[str, str]) -> dict[str | None, float]:
    client.post(
        "/api/v1/kpi/compute",
        json={"codes": ["ho-so-cong-viec-cap-xa"], "force": True},
        headers=headers,
    )
    answer = client.get(
        "/api/v1/kpis/ho-so-cong-viec-cap-xa/values", params={"period": "2026-Q3"}, headers=headers
    )
    return {v["area"]: v["value"] for v in answer.json()}


def test_a_bad_row_imports_nothing_unless_asked(
    cantho: Database, client: TestClient, headers_for: Headers
) -> None:
    officer = headers_for("agency_officer", ["VPUBND"])
    files = {"file": ("so-lieu.xlsx", _xlsx(ROWS), "application/octet-stream")}
    refused = client.post(URL, files=files, headers=officer)
    assert refused.status_code == 200, refused.text
    report = refused.json()
    assert (report["rows"], report["imported"], report["rejected"]) == (6, 0, 4)
    problems = {p["row"]: p["problem"] for p in report["problems"]}
    assert set(problems) == {4, 5, 6, 7}  # spreadsheet rows (the header is row 1)
    assert "bad period" in problems[4] and "no ward" in problems[5]
    assert "not a number" in problems[6] and "evidence" in problems[7]
    admin = headers_for("admin")
    assert _values(client, admin) == {None: None}

    accepted = client.post(URL, files=files, data={"mode": "accept_valid"}, headers=officer).json()
    assert (accepted["imported"], accepted["rejected"]) == (2, 4)
    values = _values(client, admin)
    assert values["31135"] == 62.5 and values["31120"] == 58.25
    assert values[None] == (62.5 + 58.25) / 2  # the wards' average (aggregate: avg)


def test_refusals(cantho: Database, client: TestClient, headers_for: Headers) -> None:
    officer = headers_for("agency_officer", ["VPUBND"])
    good = {"file": ("so-lieu.xlsx", _xlsx(ROWS[:1]), "application/octet-stream")}
    other = headers_for("agency_officer", ["SYT"])
    assert client.post(URL, files=good, headers=other).status_code == 404
    assert client.post(URL, files=good, headers=headers_for("viewer")).status_code == 403
    junk = {"file": ("so-lieu.xlsx", b"PK\x03\x04 not really", "application/octet-stream")}
    answer = client.post(URL, files=junk, headers=officer)
    assert answer.status_code == 422 and "unreadable file" in answer.text
    pdf = {"file": ("so-lieu.pdf", b"%PDF", "application/pdf")}
    assert client.post(URL, files=pdf, headers=officer).status_code == 422
    assert (
        client.post(URL, files=good, data={"mode": "sometimes"}, headers=officer).status_code == 422
    )
    repeated = {
        "file": ("so-lieu.csv", "kỳ,phường, xã,giá trị,minh chứng\n".encode() + b"", "text/csv")
    }
    assert client.post(URL, files=repeated, headers=officer).json()["rows"] == 0
    twice = {"file": ("so-lieu.xlsx", _xlsx([ROWS[0], ROWS[0]]), "application/octet-stream")}
    report = client.post(URL, files=twice, headers=officer).json()
    assert report["imported"] == 0 and "repeats" in report["problems"][0]["problem"]


def test_the_upload_form_shows_the_report(
    cantho: Database, client: TestClient, headers_for: Headers
) -> None:
    officer = {**headers_for("agency_officer", ["VPUBND"]), "Accept": "text/html"}
    page = client.get("/kpi/ho-so-cong-viec-cap-xa", headers=officer).text
    assert 'action="/kpi/ho-so-cong-viec-cap-xa/upload"' in page
    files = {"file": ("so-lieu.xlsx", _xlsx(ROWS), "application/octet-stream")}
    shown = client.post("/kpi/ho-so-cong-viec-cap-xa/upload", files=files, headers=officer)
    assert shown.status_code == 422
    assert "Không dòng nào được nạp" in shown.text and "no ward" in shown.text
    kept = client.post(
        "/kpi/ho-so-cong-viec-cap-xa/upload",
        files=files,
        data={"accept_valid": "1"},
        headers=officer,
    )
    assert "Báo cáo 7/BC-UBND" in kept.text  # the imported rows' evidence, in the inputs

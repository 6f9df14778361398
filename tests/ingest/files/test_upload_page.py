"""The console's upload screen: an officer logged in with a browser session sets a dataset's
column mapping, uploads a spreadsheet, sees row by row what was stored and what was not, and
downloads the report — with the same checks as the API."""

from __future__ import annotations

import io
import re

import openpyxl
from fastapi.testclient import TestClient

from taydo.auth.service import create_user
from taydo.core.db import Database
from tests.auth.conftest import form_login
from tests.ingest.files.test_upload import CSV, T0, _dataset, _stored

PASSWORD = "mật-khẩu-đủ-dài-123"
HTML = {"Accept": "text/html"}


def _login(client: TestClient, database: Database, role: str, agencies: list[str]) -> str:
    """Log in through the form; returns the session's form token."""
    create_user(
        database,
        f"{role}-page",
        role,
        agencies=agencies,
        password=PASSWORD,
        full_name="Phạm Thị Mai",
    )
    login = form_login(client, f"{role}-page", PASSWORD, "/data/upload", follow_redirects=False)
    assert login.status_code == 303, login.text
    page = client.get("/data/upload")
    assert page.status_code == 200, page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return token.group(1)


def _workbook() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Số liệu"
    for line in CSV.splitlines():
        sheet.append(line.split(";"))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_officer_maps_uploads_and_reads_the_report(client, database) -> None:  # type: ignore[no-untyped-def]
    ids = _dataset(database)
    token = _login(client, database, "agency_officer", ["SNNMT"])
    page = client.get("/data/upload", params={"dataset": "muc-nuoc-tay"}).text
    assert "Mực nước đo tay" in page and "Mặc định theo tệp mẫu" in page  # none saved
    assert "<code>height</code>, <code>temperature</code>" in page  # what a column may name
    assert 'type="file"' in page  # the template's default mapping reads a filled template

    # A mapping with a line that is not "header = metric": refused with the reason, form kept.
    wrong = client.post(
        "/data/upload/mapping",
        data={
            "csrf_token": token,
            "dataset": "muc-nuoc-tay",
            "ts": "Thời gian",
            "entity": "Trạm",
            "metrics": "Mực nước (m) height",
        },
    )
    assert wrong.status_code == 422 and "dòng 1" in wrong.text
    assert "Mực nước (m) height" in wrong.text
    saved = client.post(
        "/data/upload/mapping",
        data={
            "csrf_token": token,
            "dataset": "muc-nuoc-tay",
            "ts": "Thời gian",
            "entity": "Trạm",
            "metrics": "Mực nước (m) = height\nNhiệt độ (°C) = temperature\n",
            "sheet": "Số liệu",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    page = client.get(saved.headers["location"]).text
    assert 'type="file"' in page and "Nhiệt độ (°C) = temperature" in page
    assert "Mặc định theo tệp mẫu" not in page  # the saved mapping wins

    answer = client.post(
        "/data/upload",
        data={"csrf_token": token, "dataset": "muc-nuoc-tay", "mode": "accept_valid"},
        files={"file": ("so-lieu-thang-2.xlsx", _workbook())},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    result = client.get(answer.headers["location"])
    assert result.status_code == 200
    assert "Lưu một phần" in result.text and "so-lieu-thang-2.xlsx" in result.text
    assert "Trạm Không Có" in result.text  # the unknown station's row, with its reason
    # The history names who uploaded, the username in the tooltip only.
    assert '<span class="who" title="agency_officer-page">Phạm Thị Mai</span>' in result.text
    assert [(s, ts) for s, ts, _v in _stored(database)][:2] == [
        (ids["height"], T0),
        (ids["temperature"], T0),
    ]
    report = re.search(
        r'href="(/api/v1/datasets/muc-nuoc-tay/uploads/\d+/report\.xlsx)"', result.text
    )
    assert report is not None
    book = openpyxl.load_workbook(io.BytesIO(client.get(report.group(1)).content))
    assert book.sheetnames == ["Tóm tắt", "Lỗi theo dòng"]
    # A reload of the result page uploads nothing again (the form answered with a redirect).
    assert client.get(answer.headers["location"]).status_code == 200
    assert len(_stored(database)) == 4

    # Wrong file: the page says why, nothing is stored.
    broken = client.post(
        "/data/upload",
        data={"csrf_token": token, "dataset": "muc-nuoc-tay"},
        files={"file": ("hong.xlsx", b"not a workbook")},
    )
    assert broken.status_code == 422 and 'role="alert"' in broken.text
    assert len(_stored(database)) == 4
    # Without the session's form token the form is refused.
    forged = client.post(
        "/data/upload",
        data={"dataset": "muc-nuoc-tay"},
        files={"file": ("x.csv", CSV.encode())},
    )
    assert forged.status_code == 403


def test_only_writers_of_the_agency_see_and_use_the_screen(client, database) -> None:  # type: ignore[no-untyped-def]
    _dataset(database)
    token = _login(client, database, "agency_officer", ["SYT"])  # another agency's officer
    page = client.get("/data/upload").text
    assert "muc-nuoc-tay" not in page and "chưa được giao bộ dữ liệu" in page
    refused = client.post(
        "/data/upload/mapping",
        data={
            "csrf_token": token,
            "dataset": "muc-nuoc-tay",
            "ts": "T",
            "entity": "E",
            "metrics": "A = height",
        },
    )
    assert refused.status_code == 403
    client.cookies.clear()
    viewer = create_user(database, "viewer-page", "viewer", password=PASSWORD)
    assert viewer is not None
    form_login(client, "viewer-page", PASSWORD)
    assert client.get("/data/upload", headers=HTML).status_code == 403
    assert "/data/upload" not in client.get("/data").text  # no button for those who may not

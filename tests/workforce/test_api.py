"""The workforce over HTTP and in the console: who may import and read what, the templates
and reports as workbooks, and the pages an officer and a leader use."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import openpyxl
from fastapi.testclient import TestClient

from taydo.auth.service import create_user
from taydo.core.db import Database
from tests.auth.conftest import form_login
from tests.workforce.conftest import csv_file

Headers = Callable[..., dict[str, str]]
TEAMS = ("Mã tổ", "Mã phường/xã", "Ấp/khu vực", "Mã cơ quan", "Số thành viên", "Ngày thành lập")
PASSWORD = "mật-khẩu-đủ-dài-123"


def _upload(client: TestClient, headers: dict[str, str], kind: str, data: bytes, **form: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/workforce/imports",
        headers=headers,
        files={"file": (f"{kind}.csv", data, "text/csv")},
        data={"kind": kind, **form},
    )


def test_officers_import_their_agency_and_read_only_its_rows(
    client: TestClient, loaded: Database, headers_for: Headers
) -> None:
    ninh_kieu = headers_for("agency_officer", ["UBND-NINHKIEU"])
    cai_rang = headers_for("agency_officer", ["UBND-CAIRANG"])
    leader = headers_for("leader")
    viewer = headers_for("viewer")
    own = csv_file(TEAMS, ("NK-1", "31135", "Khu vực 1", "UBND-NINHKIEU", "6", "01/02/2026"))
    assert _upload(client, viewer, "teams", own).status_code == 403
    assert _upload(client, leader, "teams", own).status_code == 403
    stored = _upload(client, ninh_kieu, "teams", own)
    assert stored.status_code == 201 and stored.json()["status"] == "stored", stored.text

    theirs = csv_file(TEAMS, ("CR-1", "31186", "Khu vực 2", "UBND-CAIRANG", "5", "01/02/2026"))
    refused = _upload(client, ninh_kieu, "teams", theirs).json()
    assert refused["status"] == "rejected"
    assert "UBND-CAIRANG" in refused["problems"][0]["reason"]
    assert _upload(client, cai_rang, "teams", theirs).json()["status"] == "stored"

    mine = client.get("/api/v1/workforce/summary?year=2026", headers=ninh_kieu).json()
    assert [t["code"] for t in mine["teams"]] == ["NK-1"]
    everything = client.get("/api/v1/workforce/summary?year=2026", headers=leader).json()
    assert sorted(t["code"] for t in everything["teams"]) == ["CR-1", "NK-1"]
    coverage = client.get(
        "/api/v1/workforce/coverage", params={"at": "2026-12-31"}, headers=leader
    ).json()
    assert (coverage["teams"], coverage["members"]) == (2, 11)
    # teams and residents per ward hold no agency's figures: an officer reads them too
    assert client.get("/api/v1/workforce/coverage", headers=ninh_kieu).status_code == 200
    city_wide = client.get(
        "/api/v1/workforce/trained-share",
        params={"group": "civil_servants", "start": "2026-01-01", "end": "2027-01-01"},
        headers=ninh_kieu,
    )
    assert city_wide.status_code == 403  # an officer reads their own agency's figures only
    share = client.get(
        "/api/v1/workforce/trained-share",
        params={"group": "people", "start": "2026-01-01", "end": "2027-01-01", "area": "31135"},
        headers=leader,
    )
    assert share.json() == {
        "group": "people",
        "start": "2026-01-01",
        "end": "2027-01-01",
        "completed": 0,
        "headcount": 0,
        "share": None,  # no population entered: the KPI is grey, not 0 %
    }
    # An officer sees their imports and those naming their agency (the refused one names
    # UBND-CAIRANG), never another agency's own imports.
    listed = client.get("/api/v1/workforce/imports", headers=cai_rang).json()
    assert {i["id"] for i in listed} == {refused["id"], refused["id"] + 1}
    first_id = stored.json()["id"]
    assert client.get(f"/api/v1/workforce/imports/{first_id}", headers=cai_rang).status_code == 404


def test_bad_input_gets_a_clear_4xx(
    client: TestClient, loaded: Database, headers_for: Headers
) -> None:
    admin = headers_for("admin")
    missing = _upload(client, admin, "teams", csv_file(("Mã tổ",), ("A",)))
    assert missing.status_code == 422
    assert "Số thành viên" in missing.json()["error"]
    assert _upload(client, admin, "nothing", csv_file(TEAMS)).status_code == 404
    assert _upload(client, admin, "teams", csv_file(TEAMS), mode="maybe").status_code == 422
    share = client.get(
        "/api/v1/workforce/trained-share",
        params={"group": "people", "start": "2026-01-01", "end": "2027-01-01", "agency": "SYT"},
        headers=admin,
    )
    assert share.status_code == 422 and "by ward" in share.json()["error"]
    backwards = client.get(
        "/api/v1/workforce/trained-share",
        params={"group": "people", "start": "2026-01-01", "end": "2025-01-01"},
        headers=admin,
    )
    assert backwards.status_code == 422
    assert client.get("/api/v1/workforce/summary?year=99999", headers=admin).status_code == 422
    assert client.get("/api/v1/workforce/imports/0", headers=admin).status_code == 422


def test_templates_and_reports_are_workbooks_with_vietnamese_headers(
    client: TestClient, loaded: Database, headers_for: Headers
) -> None:
    admin = headers_for("admin")
    kinds = client.get("/api/v1/workforce/kinds", headers=admin).json()
    assert [k["code"] for k in kinds] == [
        "courses", "training", "assessments", "staff", "teams", "team_activities", "populations",
    ]  # fmt: skip
    for kind in kinds:
        answer = client.get(kind["template"], headers=admin)
        assert answer.status_code == 200
        book = openpyxl.load_workbook(io.BytesIO(answer.content))
        assert [c.value for c in book["Số liệu"][1]] == [c["header"] for c in kind["columns"]]
    courses = openpyxl.load_workbook(
        io.BytesIO(client.get("/api/v1/workforce/templates/courses.xlsx", headers=admin).content)
    )
    values = {row[1] for row in courses["Giá trị"].iter_rows(min_row=2, values_only=True)}
    assert {"people", "civil_servants", "it_workforce", "online"} <= values

    bad = _upload(client, admin, "teams", csv_file(TEAMS, ("X", "31135", "", "SKHCN", "-1", "x")))
    report = client.get(bad.json()["report"], headers=admin)
    rows = list(
        openpyxl.load_workbook(io.BytesIO(report.content))["Lỗi theo dòng"].iter_rows(
            min_row=2, values_only=True
        )
    )
    assert [(r[0], r[1]) for r in rows] == [
        (2, "Ngày thành lập"),
        (2, "Số thành viên"),
        (2, "Ấp/khu vực"),
    ]


def test_the_pages_of_an_officer_and_a_leader(client: TestClient, loaded: Database) -> None:
    create_user(
        loaded,
        "can-bo",
        "agency_officer",
        agencies=["UBND-NINHKIEU"],
        password=PASSWORD,
        full_name="Huỳnh Thị Ngọc Trâm",
    )
    login = form_login(client, "can-bo", PASSWORD, "/workforce/import", follow_redirects=False)
    assert login.status_code == 303
    page = client.get("/workforce/import")
    assert page.status_code == 200 and "Nhập số liệu nhân lực số" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    data = csv_file(
        TEAMS,
        ("NK-1", "31135", "Khu vực 1", "UBND-NINHKIEU", "6", "01/02/2026"),
        ("NK-2", "31135", "Khu vực 2", "UBND-NINHKIEU", "sáu", "01/02/2026"),
    )
    sent = client.post(
        "/workforce/import",
        data={"csrf_token": token.group(1), "kind": "teams", "mode": "all_or_nothing"},
        files={"file": ("to.csv", data, "text/csv")},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    result = client.get(sent.headers["location"]).text
    assert "Không lưu" in result and "sáu" in result  # rejected, with the bad cell shown
    assert '<span class="who" title="can-bo">Huỳnh Thị Ngọc Trâm</span>' in result  # by name
    kept = client.post(
        "/workforce/import",
        data={"csrf_token": token.group(1), "kind": "teams", "mode": "accept_valid"},
        files={"file": ("to.csv", data, "text/csv")},
    )
    assert "Lưu một phần" in kept.text
    summary = client.get("/workforce?year=2026").text
    assert "Khu vực 1" in summary and "Khu vực 2" not in summary
    assert "Phường Ninh Kiều" in summary  # wards by name
    client.post("/logout", data={"csrf_token": token.group(1)})

    create_user(loaded, "lanh-dao", "leader", password=PASSWORD)
    form_login(client, "lanh-dao", PASSWORD, "/workforce")
    leader_page = client.get("/workforce?year=2026")
    assert leader_page.status_code == 200
    assert "Tổ công nghệ số cộng đồng" in leader_page.text  # the city-wide coverage
    assert client.get("/workforce/import").status_code == 403

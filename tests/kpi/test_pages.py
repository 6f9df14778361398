"""The console screens: the executive dashboard (also in wall mode), a KPI's page with its
history, wards and inputs and the entry form, and the DTI page; Vietnamese first."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from taydo.core.db import Database
from taydo.kpi.pages import sparkline

from .conftest import NOW, ZONE, put

Headers = Callable[..., dict[str, str]]


def _html(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Accept": "text/html"}


def test_sparkline_points() -> None:
    assert sparkline([]) == "" and sparkline([1.0]) == "" and sparkline([None, 2.0]) == ""
    points = sparkline([0.0, None, 10.0], width=100, height=20).split()
    assert points == ["0.0,18.0", "100.0,2.0"]  # the gap is skipped; the highest at the top
    assert sparkline([5.0, 5.0]) == "0.0,18.0 120.0,18.0".replace("18.0", "26.0")  # flat


def test_dashboard_pillars_sectors_and_wall(
    cantho: Database, client: TestClient, headers_for: Headers
) -> None:
    from taydo.kpi.service import compute

    put(cantho, "AirQualityObserved:kk-ninh-kieu", "pm25", [20.0] * 744)
    compute(cantho, now=NOW, zone=ZONE)
    leader = _html(headers_for("leader"))
    page = client.get("/kpi", headers=leader)
    assert page.status_code == 200
    text = page.text
    for label in ("Chính quyền số", "Kinh tế số", "Xã hội số", "Nền tảng", "Y tế", "Giáo dục"):
        assert label in text
    assert 'href="/kpi/bui-pm25"' in text
    # grey says why, in the page's language (the reason is stored in both)
    assert "không có số liệu trong kỳ" in text and "no data in the period" not in text
    assert 'class="kpi-card st-' in text
    wall = client.get("/kpi?wall=1", headers=leader).text
    assert 'class="wall kpi-exec' in wall and "js/kpi.js" in wall
    english = client.get("/kpi", headers={**leader, "Cookie": "taydo_lang=en"})
    assert english.status_code == 200
    assert (
        client.get("/kpi", headers={"Accept": "text/html"}, follow_redirects=False).status_code
        == 303
    )


def test_kpi_page_history_wards_and_entry(
    cantho: Database, client: TestClient, headers_for: Headers
) -> None:
    from taydo.kpi.service import compute

    put(cantho, "AirQualityObserved:kk-ninh-kieu", "pm25", [20.0] * 744)
    put(cantho, "AirQualityObserved:kk-cai-khe", "pm25", [40.0] * 744)
    compute(cantho, now=NOW, zone=ZONE, codes=["bui-pm25"])
    viewer = _html(headers_for("viewer"))
    page = client.get("/kpi/bui-pm25", headers=viewer).text
    assert "Nồng độ bụi PM2.5 trung bình" in page
    assert "QCVN 05:2013/BTNMT" in page  # where the target comes from
    assert "Theo phường, xã" in page and "Phường Ninh Kiều" in page
    assert "series_with_data" in page  # what the value was computed from
    assert "/entries" not in page  # computed, not entered

    officer = _html(headers_for("agency_officer", ["SYT"]))
    form = client.get("/kpi/benh-an-dien-tu", headers=officer).text
    assert 'action="/kpi/benh-an-dien-tu/entries"' in form
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    sent = client.post(
        "/kpi/benh-an-dien-tu/entries",
        data={
            "csrf_token": token,
            "period": "2026-Q3",
            "value": "75,5",
            "evidence": "Báo cáo 20/BC-SYT",
        },
        headers=officer,
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    shown = client.get("/kpi/benh-an-dien-tu", headers=officer).text
    assert "75.50" in shown and "Báo cáo 20/BC-SYT" in shown
    refused = client.post(
        "/kpi/benh-an-dien-tu/entries",
        data={"csrf_token": token, "period": "2026-Q9", "value": "1", "evidence": "Báo cáo"},
        headers=officer,
    )
    assert refused.status_code == 422 and "bad period" in refused.text
    assert client.get("/kpi/hoc-ba-so", headers=officer).status_code == 404  # another agency's


def test_a_proposed_target_is_said_in_words(
    cantho: Database, client: TestClient, headers_for: Headers
) -> None:
    viewer = _html(headers_for("viewer"))
    api = client.get("/api/v1/kpis/tthc-dung-han", headers=headers_for("viewer")).json()["kpi"]
    assert api["target_proposed"] is True and api["target_source"] == ""  # the pack's flag
    sentence = "Mục tiêu đề xuất (chưa được thành phố xác nhận)"
    page = client.get("/kpi/tthc-dung-han", headers=viewer).text
    assert sentence in page and "target: proposed" not in page and "Proposed" not in page
    salinity = client.get("/kpi/gio-man-tren-4", headers=viewer).text
    assert sentence + "</span> — 4‰: độ mặn gây hại cho lúa<" in salinity
    assert "harms rice" not in salinity
    english = client.get("/kpi/gio-man-tren-4", headers={**viewer, "Cookie": "taydo_lang=en"})
    assert "Proposed target (not yet confirmed by the city)" in english.text
    assert "4‰: the salinity that harms rice" in english.text
    published = client.get("/kpi/bui-pm25", headers=viewer).text
    assert sentence not in published and "QCVN 05:2013/BTNMT" in published
    # the dashboard and the wall star a proposed target and say once what the star means
    for path in ("/kpi", "/kpi?wall=1"):
        board = client.get(path, headers=viewer).text
        assert board.count(sentence) >= 31 + 1 and "target: proposed" not in board


def test_dti_page(cantho: Database, client: TestClient, headers_for: Headers) -> None:
    viewer = _html(headers_for("viewer"))
    page = client.get("/dti?province=cantho-cu", headers=viewer).text
    for label in (
        "Hoạt động chính quyền số",
        "Nhận thức số",
        "22 chỉ số thành phần",
        "An toàn thông tin mạng",
        "Đô thị thông minh",
        "không tính điểm",
    ):
        assert label in page
    assert "0.6924" in page and "hạng 5/63" in page
    assert "0.2947" in page  # the published main indices of 2022
    merged = client.get("/dti", headers=viewer).text
    # the provinces before the merger by their names (dti.yaml ``provinces``), never their keys
    assert (
        "TP. Cần Thơ (trước sáp nhập 2025), Sóc Trăng (trước sáp nhập 2025), "
        "Hậu Giang (trước sáp nhập 2025)" in merged
    )
    assert "TP. Cần Thơ (trước sáp nhập 2025)</a>" in page  # the province chips
    for key in ("cantho-cu", "soctrang", "haugiang"):
        assert f">{key}<" not in merged and f">{key}<" not in page
    dti405 = client.get("/dti?framework=dti-405", headers=viewer).text
    assert "47 components" in dti405

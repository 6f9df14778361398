"""The KPI and DTI API: who may do what, definitions refused with a reason, entries, the
dashboard, DTI totals and a merged province's baseline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from taydo.core import clock
from taydo.core.db import Database
from taydo.core.settings import Settings
from taydo.kpi.runtime import KpiScheduler

Headers = Callable[..., dict[str, str]]

GOOD = {
    "code": "api-kpi",
    "name": "Tỷ lệ thử",
    "pillar": "kinh-te-so",
    "sector": "tourism",
    "unit": "%",
    "period": "quarter",
    "target": 80,
    "warn": 60,
    "source": {"kind": "records", "aggregate": "avg"},
}


def test_reading_needs_kpi_read_and_writing_kpi_write(
    cantho: Database, client: TestClient, headers_for: Headers
) -> None:
    assert client.get("/api/v1/kpis").status_code == 401
    viewer = headers_for("viewer")
    listed = client.get("/api/v1/kpis", headers=viewer)
    assert listed.status_code == 200
    assert len(listed.json()) >= 40
    assert client.put("/api/v1/kpis/api-kpi", json=GOOD, headers=viewer).status_code == 403
    assert (
        client.put("/api/v1/kpis/api-kpi", json=GOOD, headers=headers_for("leader")).status_code
        == 403
    )
    admin = headers_for("admin")
    saved = client.put("/api/v1/kpis/api-kpi", json=GOOD, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 1
    assert client.post("/api/v1/kpi/compute", json={}, headers=viewer).status_code == 403
    run = client.post("/api/v1/kpi/compute", json={"codes": ["api-kpi"]}, headers=admin)
    assert run.status_code == 200 and run.json()["computed"] >= 1
    audit = client.get("/api/v1/audit", headers=admin, params={"object_type": "kpi"})
    if audit.status_code == 200:  # the journal's API: the save is in it
        assert any(e.get("action") == "kpi.save" for e in audit.json().get("items", audit.json()))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"source": {"kind": "eval", "expr": "1+1"}}, "source.kind must be one of"),
        (
            {"source": {"kind": "observations", "metric": "pm25", "agg": "share"}},
            "a share needs op",
        ),
        (
            {"source": {"kind": "observations", "metric": "pm25", "agg": "avg", "threshold": 5}},
            "op and threshold belong",
        ),
        ({"warn": 90}, "warn must be at or below the target"),
        ({"pillar": "kinh-te"}, "pillar"),
        ({"period": "decade"}, "period"),
        ({"target": "80"}, "target"),
        ({"sector": "space"}, "unknown sector"),
    ],
)
def test_a_bad_definition_is_refused_with_its_reason(
    cantho: Database, client: TestClient, headers_for: Headers, change: dict[str, Any], reason: str
) -> None:
    answer = client.put(
        "/api/v1/kpis/api-kpi", json={**GOOD, **change}, headers=headers_for("admin")
    )
    assert answer.status_code in (400, 422), answer.text
    assert reason in answer.text


def test_entries_by_the_kpi_agency_only(
    cantho: Database, client: TestClient, headers_for: Headers
) -> None:
    entry = {"period": "2026-Q3", "value": 42.5, "evidence": "Báo cáo 15/BC-SYT ngày 05/10/2026"}
    officer = headers_for("agency_officer", ["SYT"])
    done = client.post("/api/v1/kpis/benh-an-dien-tu/entries", json=entry, headers=officer)
    assert done.status_code == 201, done.text
    other = headers_for("agency_officer", ["SGDDT"])
    assert (
        client.post("/api/v1/kpis/benh-an-dien-tu/entries", json=entry, headers=other).status_code
        == 404
    )
    assert (
        client.post(
            "/api/v1/kpis/benh-an-dien-tu/entries", json=entry, headers=headers_for("viewer")
        ).status_code
        == 403
    )
    bad_period = client.post(
        "/api/v1/kpis/benh-an-dien-tu/entries", json={**entry, "period": "2026-13"}, headers=officer
    )
    assert bad_period.status_code == 422 and "period" in bad_period.text
    computed = client.post(
        "/api/v1/kpis/benh-an-dien-tu/entries",
        json={**entry, "period": "2026-Q3"},
        headers=headers_for("admin"),
    )
    assert computed.status_code == 201
    no_evidence = client.post(
        "/api/v1/kpis/benh-an-dien-tu/entries", json={**entry, "evidence": ""}, headers=officer
    )
    assert no_evidence.status_code == 422
    not_entered = client.post(
        "/api/v1/kpis/bui-pm25/entries",
        json={**entry, "period": "2026-10"},
        headers=headers_for("admin"),
    )
    assert not_entered.status_code == 422 and "computed, not entered" in not_entered.text
    client.post(
        "/api/v1/kpi/compute",
        json={"codes": ["benh-an-dien-tu"], "force": True},
        headers=headers_for("admin"),
    )
    values = client.get(
        "/api/v1/kpis/benh-an-dien-tu/values", params={"period": "2026-Q3"}, headers=officer
    ).json()
    city = next(v for v in values if v["area"] is None)
    assert city["value"] == 42.5 and city["status"] == "red"
    assert city["inputs"]["entries"][0]["evidence"] == entry["evidence"]
    listed = {k["code"] for k in client.get("/api/v1/kpis", headers=officer).json()}
    assert (
        "benh-an-dien-tu" in listed and "hoc-ba-so" not in listed and "phan-anh-dung-han" in listed
    )
    # The officer's dashboard holds the city's shared KPIs and their own agency's, no other's.
    board = client.get("/api/v1/kpi/dashboard", headers=officer).json()
    codes = {k["code"] for p in board["pillars"] for s in p["sectors"] for k in s["kpis"]}
    assert "benh-an-dien-tu" in codes and "hoc-ba-so" not in codes and "phan-anh-dung-han" in codes


def test_dashboard_groups_pillars_and_sectors(
    cantho: Database, client: TestClient, headers_for: Headers
) -> None:
    client.post("/api/v1/kpi/compute", json={}, headers=headers_for("admin"))
    board = client.get("/api/v1/kpi/dashboard", headers=headers_for("leader")).json()
    assert [p["code"] for p in board["pillars"]] == [
        "chinh-quyen-so",
        "kinh-te-so",
        "xa-hoi-so",
        "nen-tang",
    ]
    assert board["total"] >= 40
    assert sum(board["counts"].values()) == board["total"]
    health = next(s for p in board["pillars"] for s in p["sectors"] if s["code"] == "health")
    assert health["name"] == "Y tế"
    one = health["kpis"][0]
    assert one["status"] == "grey" and one["reason"]
    choices = client.get("/api/v1/kpi/choices", headers=headers_for("viewer")).json()
    installed = {s["code"]: s["installed"] for s in choices["sources"]}
    assert installed["observations"] and installed["incidents.on_time"]
    assert installed["citizen.on_time"] and installed["citizen.satisfaction"]


def test_dti_structure_totals_and_baseline(
    cantho: Database, client: TestClient, headers_for: Headers
) -> None:
    viewer, admin = headers_for("viewer"), headers_for("admin")
    frameworks = {f["code"]: f for f in client.get("/api/v1/dti", headers=viewer).json()}
    assert set(frameworks) == {"dti-922", "dti-405"}
    dti922 = frameworks["dti-922"]
    points = [i["points"] for g in dti922["groups"] for i in g["indices"] if i["points"]]
    assert sum(points) == 1000 and len(points) == 8
    unscored = [i["code"] for g in dti922["groups"] for i in g["indices"] if i["points"] is None]
    assert unscored == ["do-thi-thong-minh"]
    assert "47 components" in frameworks["dti-405"]["missing"]

    published = client.get(
        "/api/v1/dti/dti-922", params={"province": "cantho-cu"}, headers=viewer
    ).json()
    y2022 = next(y for y in published["years"] if y["year"] == 2022)
    assert y2022["total"] == pytest.approx(0.6924) and (y2022["rank"], y2022["rank_of"]) == (5, 63)
    # The eight published main indices give the published total (points-weighted mean).
    assert y2022["computed_total"]["entered"] == 8
    assert y2022["computed_total"]["computed"] == pytest.approx(0.6924, abs=5e-5)

    # Sóc Trăng's eight main indices: the total is the points-weighted mean.
    scores = {
        "nhan-thuc-so": 0.7,
        "the-che-so": 0.6,
        "ha-tang-so": 0.5,
        "nhan-luc-so": 0.4,
        "an-toan-thong-tin": 0.8,
        "chinh-quyen-so": 0.6,
        "kinh-te-so": 0.3,
        "xa-hoi-so": 0.5,
    }
    for code, score in scores.items():
        body = {
            "province": "soctrang",
            "year": 2022,
            "index": code,
            "score": score,
            "evidence": "thử nghiệm / test value",
        }
        assert (
            client.post("/api/v1/dti/dti-922/results", json=body, headers=admin).status_code == 201
        )
    assert (
        client.post(
            "/api/v1/dti/dti-922/results", json={**body, "score": 1.5}, headers=admin
        ).status_code
        == 422
    )
    assert (
        client.post(
            "/api/v1/dti/dti-922/results", json={**body, "index": "nope"}, headers=admin
        ).status_code
        == 422
    )
    assert client.post("/api/v1/dti/dti-922/results", json=body, headers=viewer).status_code == 403
    soc = client.get("/api/v1/dti/dti-922", params={"province": "soctrang"}, headers=viewer).json()
    weighted = (0.7 + 0.6 + 0.5 + 0.4 + 0.8) * 100 + 0.6 * 200 + 0.3 * 150 + 0.5 * 150
    assert soc["years"][0]["total"] == pytest.approx(weighted / 1000)

    base = client.get(
        "/api/v1/dti/dti-922/baseline", params={"province": "92", "year": 2022}, headers=viewer
    ).json()
    # The total: Cần Thơ's published one and Sóc Trăng's computed one; Hậu Giang has a rank
    # but no score.
    assert base["indices"][""]["average"] == pytest.approx((0.6924 + weighted / 1000) / 2)
    assert set(base["indices"][""]["from"]) == {"cantho-cu", "soctrang"}
    assert base["indices"]["kinh-te-so"]["average"] == pytest.approx((0.7556 + 0.3) / 2)
    merged = client.get("/api/v1/dti/dti-922", params={"province": "92"}, headers=viewer).json()
    first = next(y for y in merged["years"] if y["year"] == 2022)
    assert first["averaged_from_parts"] and first["parts_present"] == ["cantho-cu", "soctrang"]


def test_dti_indices_estimated_from_kpis(
    cantho: Database, client: TestClient, headers_for: Headers
) -> None:
    admin = headers_for("admin")
    for code, value in (("ho-gia-dinh-cap-quang", 60.0), ("phu-song-4g5g", 95.0)):
        entry = {"period": "2026", "value": value, "evidence": "Báo cáo năm 2026 của Sở KH&CN"}
        done = client.post(f"/api/v1/kpis/{code}/entries", json=entry, headers=admin)
        assert done.status_code == 201, done.text
    client.post(
        "/api/v1/kpi/compute",
        json={"codes": ["ho-gia-dinh-cap-quang", "phu-song-4g5g"], "force": True},
        headers=admin,
    )
    compute = "/api/v1/dti/dti-922/compute"
    assert (
        client.post(compute, params={"year": 2026}, headers=headers_for("viewer")).status_code
        == 403
    )
    out = client.post(compute, params={"year": 2026}, headers=admin).json()
    # Hạ tầng số: fibre 60 % of households (full at the 80 % goal) and 4G/5G 95 % (full at 100).
    assert out["computed"] == {"ha-tang-so": pytest.approx((60 / 80 + 95 / 100) / 2)}
    assert "phu-song-4g5g" not in out["skipped"]["chinh-quyen-so"]  # names what is missing
    assert "dvc-truc-tuyen-toan-trinh" in out["skipped"]["chinh-quyen-so"]
    view = client.get("/api/v1/dti/dti-922", params={"province": "92"}, headers=admin).json()
    y2026 = next(y for y in view["years"] if y["year"] == 2026)
    assert y2026["scores"]["ha-tang-so"] == pytest.approx(0.85)
    fibre = y2026["computed"]["ha-tang-so"]["ho-gia-dinh-cap-quang"]
    assert (fibre["period"], fibre["value"], fibre["score"]) == ("2026", 60.0, 0.75)
    assert "ho-gia-dinh-cap-quang 2026 = 60" in y2026["evidence"]["ha-tang-so"]

    # A published result entered for the same index and year wins, and is never overwritten.
    published = {
        "province": "92",
        "year": 2026,
        "index": "ha-tang-so",
        "score": 0.8,
        "evidence": "Bộ KH&CN, DTI 2026",
    }
    assert (
        client.post("/api/v1/dti/dti-922/results", json=published, headers=admin).status_code == 201
    )
    again = client.post(compute, params={"year": 2026}, headers=admin).json()
    assert again["computed"] == {} and "ha-tang-so" in again["skipped"]
    view = client.get("/api/v1/dti/dti-922", params={"province": "92"}, headers=admin).json()
    y2026 = next(y for y in view["years"] if y["year"] == 2026)
    assert y2026["scores"]["ha-tang-so"] == 0.8 and "ha-tang-so" not in y2026["computed"]


def test_the_kpi_engine_re_estimates_this_years_dti(
    cantho: Database, client: TestClient, headers_for: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 12, 3, 9, tzinfo=UTC))
    entry = {"period": "2026", "value": 90.0, "evidence": "Báo cáo năm 2026 của Sở KH&CN"}
    admin = headers_for("admin")
    assert client.post(
        "/api/v1/kpis/httt-cap-do-attt/entries", json=entry, headers=admin
    ).is_success
    client.post("/api/v1/kpi/compute", json={"codes": ["httt-cap-do-attt"]}, headers=admin)
    runtime = SimpleNamespace(db=cantho, settings=Settings())
    KpiScheduler(runtime, zone="Asia/Ho_Chi_Minh", interval_s=0)._estimate_dti()  # type: ignore[arg-type]
    view = client.get("/api/v1/dti/dti-922", params={"province": "92"}, headers=admin).json()
    y2026 = next(y for y in view["years"] if y["year"] == 2026)
    assert y2026["scores"]["an-toan-thong-tin"] == pytest.approx(0.9)


def test_sectors_are_configurable(
    cantho: Database, client: TestClient, headers_for: Headers
) -> None:
    sector = {
        "code": "smart-city",
        "name": "Đô thị thông minh",
        "name_en": "Smart city",
        "position": 20,
    }
    assert (
        client.put(
            "/api/v1/kpi/sectors/smart-city", json=sector, headers=headers_for("viewer")
        ).status_code
        == 403
    )
    done = client.put("/api/v1/kpi/sectors/smart-city", json=sector, headers=headers_for("admin"))
    assert done.status_code == 200, done.text
    choices = client.get("/api/v1/kpi/choices", headers=headers_for("viewer")).json()
    assert "smart-city" in {s["code"] for s in choices["sectors"]}
    kpi = {**GOOD, "sector": "smart-city"}
    assert (
        client.put("/api/v1/kpis/api-kpi", json=kpi, headers=headers_for("admin")).status_code
        == 200
    )

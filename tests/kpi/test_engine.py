"""The KPI engine on stored data: values, wards, grey with a reason, incremental runs, and
recomputing a past period giving the same value from the same inputs (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import NotFound
from taydo.kpi import sources
from taydo.kpi.models import KpiValue
from taydo.kpi.schemas import EntryIn, KpiIn
from taydo.kpi.service import compute, enter_value, judge, kpi_values, save_kpi

from .conftest import NOW, OCT_START, ZONE, put

OFFICER = Principal(username="so-yt", role="agency_officer", agencies=frozenset({"SYT"}))
ADMIN = Principal(username="admin", role="admin")


def _kpi(code: str, source: dict[str, Any], **fields: Any) -> KpiIn:
    return KpiIn.model_validate(
        {
            "code": code,
            "name": code,
            "pillar": "xa-hoi-so",
            "period": "month",
            "source": source,
            **fields,
        }
    )


def _city(database: Database, code: str, period: str) -> dict[str, Any]:
    return next(v for v in kpi_values(database, code, None, period=period) if v["area"] is None)


def test_judge_statuses() -> None:
    assert judge(96, "higher", 95, 85) == ("green", "")
    assert judge(90, "higher", 95, 85) == ("amber", "")
    assert judge(80, "higher", 95, 85) == ("red", "")
    assert judge(4, "lower", 5, 15) == ("green", "")
    assert judge(10, "lower", 5, 15) == ("amber", "")
    assert judge(20, "lower", 5, None) == ("red", "")
    assert judge(None, "higher", 95, 85)[0] == "grey"
    assert judge(50, "higher", None, None) == ("grey", "chưa đặt mục tiêu / no target set")


def test_share_of_hours_by_ward_and_recompute_gives_the_same(cantho: Database) -> None:
    # Two stations in Ninh Kiều, one in Cái Khế; October = 744 hours.
    put(cantho, "AirQualityObserved:kk-ninh-kieu", "pm25", [20.0] * 600 + [80.0] * 144)
    put(cantho, "AirQualityObserved:kk-dai-hoc-can-tho", "pm25", [30.0] * 744)
    put(cantho, "AirQualityObserved:kk-cai-khe", "pm25", [70.0] * 372 + [10.0] * 372)
    save_kpi(
        cantho,
        _kpi(
            "pm25-ok",
            {
                "kind": "observations",
                "metric": "pm25",
                "agg": "share",
                "op": "le",
                "threshold": 50,
                "scale": 100,
            },
            target=95,
            warn=85,
            unit="%",
        ),
        ADMIN,
    )
    first = compute(cantho, now=NOW, zone=ZONE, codes=["pm25-ok"])
    assert first.computed >= 1
    city = _city(cantho, "pm25-ok", "2026-10")
    ok = 600 + 744 + 372
    assert city["value"] == pytest.approx(ok / (3 * 744) * 100)
    assert city["status"] == "red"  # 76.9 % < 85 %
    assert city["closed"] is True
    assert city["inputs"]["hours"] == 3 * 744
    assert city["inputs"]["hours_meeting"] == ok
    assert city["inputs"]["series"] == 10  # every pm25 series of the pack was read
    assert city["inputs"]["series_with_data"] == 3
    assert city["inputs"]["period"] == "2026-10"
    assert city["inputs"]["formula_version"] == 1
    wards = {
        v["area"]: v for v in kpi_values(cantho, "pm25-ok", None, period="2026-10") if v["area"]
    }
    assert wards["31135"]["value"] == pytest.approx((600 + 744) / (2 * 744) * 100)
    assert wards["31120"]["value"] == pytest.approx(50.0)

    # Not forced: a period closed long ago is kept as it is.
    again = compute(cantho, now=NOW, zone=ZONE, codes=["pm25-ok"])
    assert again.kept >= 1
    # Forced, weeks later: the same value from the same inputs.
    later = compute(
        cantho, now=NOW + timedelta(days=40), zone=ZONE, codes=["pm25-ok"], force=True, back=4
    )
    assert later.computed >= 1
    recomputed = _city(cantho, "pm25-ok", "2026-10")
    assert recomputed["value"] == city["value"]
    assert recomputed["inputs"] == city["inputs"]
    assert recomputed["computed_at"] != city["computed_at"]


def test_a_late_value_in_a_recent_closed_period_is_picked_up(cantho: Database) -> None:
    save_kpi(
        cantho, _kpi("pm25-avg", {"kind": "observations", "metric": "pm25", "agg": "avg"}), ADMIN
    )
    put(cantho, "AirQualityObserved:kk-ninh-kieu", "pm25", [10.0] * 10)
    just_after = OCT_START + timedelta(days=31, hours=2)  # November 1st, early morning
    compute(cantho, now=just_after, zone=ZONE, codes=["pm25-avg"])
    assert _city(cantho, "pm25-avg", "2026-10")["value"] == pytest.approx(10.0)
    put(
        cantho,
        "AirQualityObserved:kk-ninh-kieu",
        "pm25",
        [40.0] * 10,
        start=OCT_START + timedelta(days=5),
    )
    compute(cantho, now=just_after + timedelta(hours=1), zone=ZONE, codes=["pm25-avg"])
    assert _city(cantho, "pm25-avg", "2026-10")["value"] == pytest.approx(25.0)


def test_alarm_level_from_each_station(cantho: Database) -> None:
    # Cần Thơ's BĐ2 is 1.90 m; Phụng Hiệp's 1.25 m (stations.yaml).
    put(cantho, "WaterObserved:can-tho", "height", [1.95] * 10 + [1.5] * 30)
    put(cantho, "WaterObserved:phung-hiep", "height", [1.30] * 20 + [1.0] * 20)
    compute(cantho, now=NOW, zone=ZONE, codes=["muc-nuoc-tren-bd2"])
    city = _city(cantho, "muc-nuoc-tren-bd2", "2026-10")
    assert city["inputs"]["hours_meeting"] == 30
    assert city["value"] == pytest.approx(30 / 80 * 100)
    assert city["status"] == "red"  # lower is better: 37.5 % > 15 %


def test_grey_with_a_reason(cantho: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # A source whose domain is not installed (a third-party IOC without citizen reports).
    monkeypatch.setitem(sources.COUNTERS, "citizen.satisfaction", None)
    compute(cantho, now=NOW, zone=ZONE, codes=["hai-long-nguoi-dan"])
    not_installed = _city(cantho, "hai-long-nguoi-dan", "2026-Q4")
    assert not_installed["status"] == "grey"
    assert not_installed["reason"] == sources.NOT_INSTALLED
    compute(
        cantho,
        now=NOW,
        zone=ZONE,
        codes=["phan-anh-dung-han", "su-co-dung-han", "benh-an-dien-tu", "bui-pm25"],
    )
    no_reports = _city(cantho, "phan-anh-dung-han", "2026-10")  # wired: no report was due
    assert no_reports["status"] == "grey" and no_reports["reason"] == sources.NO_DATA
    no_incidents = _city(cantho, "su-co-dung-han", "2026-10")  # wired: nothing was due
    assert no_incidents["status"] == "grey" and no_incidents["reason"] == sources.NO_DATA
    assert no_incidents["inputs"]["total"] == 0
    nothing_entered = _city(cantho, "benh-an-dien-tu", "2026-Q3")
    assert nothing_entered["status"] == "grey"
    assert "no value entered" in nothing_entered["reason"]
    no_data = _city(cantho, "bui-pm25", "2026-10")
    assert no_data["value"] is None and no_data["reason"] == sources.NO_DATA


def test_too_few_data_is_grey(cantho: Database) -> None:
    put(cantho, "TrafficFlowObserved:" + _traffic(cantho), "averageVehicleSpeed", [30.0] * 20)
    compute(cantho, now=NOW, zone=ZONE, codes=["toc-do-giao-thong"], back=12)
    week = next(
        v
        for v in kpi_values(cantho, "toc-do-giao-thong", None, limit=20)
        if v["inputs"].get("hours")
    )
    assert week["status"] == "grey"
    assert "too few data" in week["reason"]


def _traffic(database: Database) -> str:
    from taydo.catalog.service import series_by_name

    return next(e for e, m in series_by_name(database) if m == "averageVehicleSpeed").split(":", 3)[
        3
    ]


def test_a_wired_counter_computes(cantho: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []

    def on_time_counts(
        session: Any,
        *,
        start: datetime,
        end: datetime,
        agency_code: str | None = None,
        area_code: str | None = None,
    ) -> tuple[int, int]:
        seen.append({"start": start, "end": end})
        return 45, 50

    monkeypatch.setitem(sources.COUNTERS, "citizen.on_time", on_time_counts)
    compute(cantho, now=NOW, zone=ZONE, codes=["phan-anh-dung-han"])
    city = _city(cantho, "phan-anh-dung-han", "2026-10")
    assert city["value"] == pytest.approx(90.0)
    assert city["status"] == "green"
    assert city["inputs"]["on_time"] == 45 and city["inputs"]["total"] == 50
    assert any(s["start"] == OCT_START for s in seen)


def test_entered_values_ratio_and_agency_scope(cantho: Database) -> None:
    admin = Principal(username="tt-pvhcc", role="agency_officer", agencies=frozenset({"TTPVHCC"}))
    for area, online, total in (("31135", 300, 500), ("31120", 100, 500)):
        enter_value(
            cantho,
            "so-ho-so-truc-tuyen",
            EntryIn(
                period="2026-10", area=area, value=online, evidence="Báo cáo tháng 10 số 12/BC"
            ),
            admin,
            zone=ZONE,
        )
        enter_value(
            cantho,
            "tong-so-ho-so",
            EntryIn(period="2026-10", area=area, value=total, evidence="Báo cáo tháng 10 số 12/BC"),
            admin,
            zone=ZONE,
        )
    with pytest.raises(NotFound):  # another agency's KPI: not shown to this officer
        enter_value(
            cantho,
            "tong-so-ho-so",
            EntryIn(period="2026-10", value=1, evidence="không phải của tôi"),
            OFFICER,
            zone=ZONE,
        )
    compute(
        cantho,
        now=NOW,
        zone=ZONE,
        codes=["so-ho-so-truc-tuyen", "tong-so-ho-so", "ho-so-truc-tuyen"],
    )
    assert _city(cantho, "tong-so-ho-so", "2026-10")["value"] == 1000  # the wards' sum
    ratio = _city(cantho, "ho-so-truc-tuyen", "2026-10")
    assert ratio["value"] == pytest.approx(40.0)
    assert ratio["status"] == "amber"  # 35 ≤ 40 < 50
    wards = {
        v["area"]: v["value"]
        for v in kpi_values(cantho, "ho-so-truc-tuyen", None, period="2026-10")
        if v["area"]
    }
    assert wards == {"31120": pytest.approx(20.0), "31135": pytest.approx(60.0)}
    entries = _city(cantho, "tong-so-ho-so", "2026-10")["inputs"]["entries"]
    assert {e["evidence"] for e in entries} == {"Báo cáo tháng 10 số 12/BC"}

    # A correction after the period closed is picked up by the next ordinary run.
    enter_value(
        cantho,
        "tong-so-ho-so",
        EntryIn(period="2026-10", area="31120", value=1500, evidence="Báo cáo điều chỉnh"),
        admin,
        zone=ZONE,
    )
    compute(cantho, now=NOW + timedelta(minutes=5), zone=ZONE)
    assert _city(cantho, "ho-so-truc-tuyen", "2026-10")["value"] == pytest.approx(20.0)


def test_a_formula_change_recomputes_history(cantho: Database) -> None:
    put(cantho, "AirQualityObserved:kk-ninh-kieu", "pm25", [20.0] * 744)
    spec = {"kind": "observations", "metric": "pm25", "agg": "avg"}
    save_kpi(cantho, _kpi("pm25-x", spec), ADMIN)
    compute(cantho, now=NOW, zone=ZONE, codes=["pm25-x"])
    save_kpi(cantho, _kpi("pm25-x", {**spec, "scale": 2.0}), ADMIN)
    compute(cantho, now=NOW, zone=ZONE, codes=["pm25-x"])
    city = _city(cantho, "pm25-x", "2026-10")
    assert city["value"] == pytest.approx(40.0)
    assert city["formula_version"] == 2
    with cantho.session() as session:
        versions = set(session.scalars(select(KpiValue.formula_version)))
    assert 2 in versions


def test_periods_in_the_city_calendar(cantho: Database) -> None:
    compute(
        cantho,
        now=datetime(2026, 10, 31, 17, 30, tzinfo=UTC),
        zone=ZONE,
        codes=["bui-pm25"],
        back=1,
    )
    # 00:30 on November 1st in Cần Thơ is in November, though still October 31st in UTC.
    assert [v["period"] for v in kpi_values(cantho, "bui-pm25", None)] == ["2026-11"]

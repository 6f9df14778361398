"""The functions that fill the report sections whose data is on this tree: alerts, data
health and quarantine (ingest), water levels against Báo động 3 and the worst VN_AQI hour
(observations). The table of sections is ``taydo.reports.service.table``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from taydo.alerts.service import period_summary
from taydo.catalog.service import list_entities
from taydo.ingest.health import health_of_all
from taydo.observations.buckets import Buckets
from taydo.observations.query import series_buckets
from taydo.reports.service.base import (
    AGENCY_COLUMNS,
    AREA_COLUMNS,
    Chart,
    Column,
    Figure,
    Names,
    Scope,
    SectionResult,
)
from taydo.rules.choices import SEVERITIES, aqi_band

__all__ = [
    "agency_health",
    "air_quality",
    "alerts_late",
    "alerts_list",
    "alerts_summary",
    "data_health",
    "quarantine",
    "water_levels",
]

_SEVERITY = {c.code: c for c in SEVERITIES}
_ALARMS: tuple[tuple[str, str, str], ...] = (
    ("3", "Báo động 3", "Alarm 3"),
    ("2", "Báo động 2", "Alarm 2"),
    ("1", "Báo động 1", "Alarm 1"),
)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _local(scope: Scope, iso_text: str | None) -> str:
    if not iso_text:
        return ""
    return datetime.fromisoformat(iso_text).astimezone(scope.tz).strftime("%d/%m/%Y %H:%M")


# -- alerts ----------------------------------------------------------------------------------


def _alerts(scope: Scope) -> dict[str, Any]:
    return period_summary(scope.database, start=scope.start, end=scope.end, agencies=scope.agencies)


def alerts_summary(scope: Scope) -> SectionResult:
    found = _alerts(scope)
    counts = found["by_severity"]
    rows = [[c.vi, c.en, counts.get(c.code, 0)] for c in sorted(SEVERITIES, key=lambda c: -c.rank)]
    sectors = sorted(found["by_sector"].items(), key=lambda item: (-item[1], item[0]))
    return SectionResult(
        code="alerts",
        title_vi="Cảnh báo trong kỳ",
        title_en="Alerts in the period",
        figures=[
            Figure("Cảnh báo phát sinh", "Alerts raised", found["opened"]),
            Figure("Đang mở (hiện tại)", "Open now", found["open_now"]),
            Figure(
                "Tiếp nhận chậm (> 30 phút)", "Acknowledged late (> 30 min)", len(found["late"])
            ),
        ]
        + [
            Figure(f"Lĩnh vực: {name or 'khác'}", f"Sector: {name or 'other'}", count)
            for name, count in sectors
        ],
        columns=[
            Column("severity", "Mức độ", "Severity"),
            Column("severity_en", "Mức độ (EN)", "Severity (EN)"),
            Column("count", "Số cảnh báo", "Alerts", "int"),
        ],
        rows=rows,
        chart=None
        if not found["opened"]
        else Chart(
            "Cảnh báo theo mức độ",
            "Alerts by severity",
            labels=[r[0] for r in rows],
            series=[("Số cảnh báo", [float(r[2]) for r in rows])],
            colours=[c.colour for c in sorted(SEVERITIES, key=lambda c: -c.rank)],
        ),
    )


def _alert_rows(scope: Scope, items: list[dict[str, Any]]) -> list[list[Any]]:
    names = Names.read(scope)
    return [
        [
            _local(scope, a["started_at"]),
            _SEVERITY[a["severity"]].vi if a["severity"] in _SEVERITY else a["severity"],
            a["title"],
            a["value"],
            *names.area(a["area_code"]),
            *names.agency(a["agency_code"]),
            round(a["ack_delay_s"] / 60) if a["ack_delay_s"] is not None else None,
        ]
        for a in items
    ]


_ALERT_COLUMNS = [
    Column("started", "Bắt đầu", "Started", "datetime"),
    Column("severity", "Mức độ", "Severity"),
    Column("title", "Cảnh báo", "Alert"),
    Column("value", "Giá trị", "Value", "number"),
    *AREA_COLUMNS,
    *AGENCY_COLUMNS,
    Column("ack_min", "Tiếp nhận sau (phút)", "Acknowledged after (min)", "int"),
]


def alerts_list(scope: Scope) -> SectionResult:
    found = _alerts(scope)
    return SectionResult(
        code="alerts-list",
        title_vi="Danh sách cảnh báo (nghiêm trọng nhất trước)",
        title_en="Alerts (most severe first)",
        columns=_ALERT_COLUMNS,
        rows=_alert_rows(scope, found["alerts"][:50]),
        note_vi="" if found["alerts"] else "Không có cảnh báo nào trong kỳ.",
        note_en="" if found["alerts"] else "No alert in the period.",
    )


def alerts_late(scope: Scope) -> SectionResult:
    found = _alerts(scope)
    return SectionResult(
        code="alerts-late",
        title_vi="Cảnh báo tiếp nhận chậm (quá 30 phút)",
        title_en="Alerts acknowledged late (over 30 minutes)",
        columns=_ALERT_COLUMNS,
        rows=_alert_rows(scope, found["late"][:50]),
        note_vi="" if found["late"] else "Mọi cảnh báo đều được tiếp nhận đúng hạn.",
        note_en="" if found["late"] else "Every alert was acknowledged in time.",
    )


# -- data health (ingest) ----------------------------------------------------------------------


def _health(scope: Scope) -> list[dict[str, Any]]:
    at = min(scope.end, scope.now)  # as of the end of the period, or now for the current one
    return [h for h in health_of_all(scope.database, now_ms=_ms(at)) if scope.covers(h["agency"])]


FRESHNESS = {
    "fresh": ("Kịp thời", "Fresh"),
    "late": ("Chậm", "Late"),
    "stale": ("Quá hạn", "Stale"),
    "no-source": ("Chưa có nguồn", "No source"),
}


def data_health(scope: Scope) -> SectionResult:
    found = _health(scope)
    behind = [h for h in found if h["freshness"]["status"] in ("late", "stale")]
    behind.sort(key=lambda h: (h["freshness"]["status"] != "stale", h["agency"], h["dataset"]))
    names = Names.read(scope)
    with_source = [h for h in found if h["freshness"]["status"] != "no-source"]
    stale = sum(1 for h in found if h["freshness"]["status"] == "stale")
    return SectionResult(
        code="data-health",
        title_vi="Sức khỏe dữ liệu: bộ dữ liệu chậm và quá hạn",
        title_en="Data health: late and stale datasets",
        figures=[
            Figure("Bộ dữ liệu có nguồn", "Datasets with a source", len(with_source)),
            Figure("Quá hạn", "Stale", stale),
            Figure("Chậm", "Late", len(behind) - stale),
        ],
        columns=[
            Column("dataset", "Bộ dữ liệu", "Dataset"),
            *AGENCY_COLUMNS,
            Column("status", "Tình trạng", "Status"),
            Column("last", "Giá trị mới nhất", "Newest value", "datetime"),
            Column("completeness", "Đủ (24 giờ)", "Complete (24 h)", "percent"),
        ],
        rows=[
            [
                h["name"],
                *names.agency(h["agency"]),
                FRESHNESS[h["freshness"]["status"]][0],
                _local(scope, h["freshness"]["last_ts"]),
                h["completeness"]["ratio"],
            ]
            for h in behind
        ],
        note_vi="" if behind else "Mọi bộ dữ liệu có nguồn đều kịp thời.",
        note_en="" if behind else "Every dataset with a source is fresh.",
    )


def agency_health(scope: Scope) -> dict[str, dict[str, Any]]:
    """Per agency: datasets with a source, fresh ones, values received and rejected in the
    24 hours before the end of the period (rejections are counted per agency)."""
    found: dict[str, dict[str, Any]] = {}
    for h in _health(scope):
        row = found.setdefault(
            h["agency"], {"datasets": 0, "fresh": 0, "received": 0, "rejected": 0}
        )
        row["rejected"] = h["validity"]["rejected_24h"]  # the agency's, on each of its datasets
        if h["freshness"]["status"] == "no-source":
            continue
        row["datasets"] += 1
        row["fresh"] += h["freshness"]["status"] == "fresh"
        row["received"] += h["completeness"]["received_24h"]
    return found


def quarantine(scope: Scope) -> SectionResult:
    names = Names.read(scope)
    rows = []
    for agency, h in sorted(agency_health(scope).items()):
        total = h["received"] + h["rejected"]
        if h["rejected"]:
            share = h["rejected"] / total
            rows.append([*names.agency(agency), h["received"], h["rejected"], share])
    return SectionResult(
        code="quarantine",
        title_vi="Dữ liệu bị cách ly (24 giờ cuối kỳ)",
        title_en="Quarantined input (last 24 hours of the period)",
        columns=[
            *AGENCY_COLUMNS,
            Column("received", "Giá trị nhận", "Values received", "int"),
            Column("rejected", "Bị cách ly", "Quarantined", "int"),
            Column("share", "Tỷ lệ cách ly", "Quarantine rate", "percent"),
        ],
        rows=rows,
        note_vi="" if rows else "Không có dữ liệu bị cách ly.",
        note_en="" if rows else "Nothing was quarantined.",
    )


# -- observations: water levels and air quality -----------------------------------------------


def _stations(scope: Scope, type_: str, metric: str) -> list[tuple[dict[str, Any], int]]:
    entities, _total = list_entities(scope.database, type=type_, limit=100_000)
    found = []
    for entity in entities:
        if not scope.covers(entity["agency"]):
            continue
        for m in entity["metrics"]:
            if m["name"] == metric:
                found.append((entity, int(m["series_id"])))
    return found


def _buckets(scope: Scope, series_id: int, bucket: str, agg: str) -> list[tuple[int, float]]:
    return series_buckets(
        scope.database,
        series_id,
        start_ms=_ms(scope.start),
        end_ms=_ms(scope.end),
        bucket=bucket,
        agg=agg,
        buckets=Buckets(scope.tz),
    )


def _alarm(levels: dict[str, Any], value: float) -> str | None:
    """The highest alarm level reached (Vietnamese), or None for a station without levels
    (a street flood sensor has none: "below Alarm 1" would claim what nobody set)."""
    known = [(key, vi) for key, vi, _en in _ALARMS if isinstance(levels.get(key), int | float)]
    if not known:
        return None
    for key, vi in known:
        if value >= levels[key]:
            return vi
    return "Dưới Báo động 1"


def water_levels(scope: Scope) -> SectionResult:
    rows: list[list[Any]] = []
    for entity, series_id in _stations(scope, "WaterObserved", "height"):
        found = _buckets(scope, series_id, "1d", "max")
        if not found:
            continue
        _peak_ts, peak = max(found, key=lambda item: item[1])
        levels = entity["attributes"].get("alarm_levels") or {}
        bd3 = levels.get("3") if isinstance(levels, dict) else None
        bd3 = float(bd3) if isinstance(bd3, int | float) else None
        rows.append(
            [
                entity["name"],
                entity["area_name"] or entity["area_code"] or "",
                entity["area_code"] or "",
                round(peak, 2),
                bd3,
                round(peak - bd3, 2) if bd3 is not None else None,
                _alarm(levels if isinstance(levels, dict) else {}, peak),
            ]
        )
    # [station, area, area code, highest, Báo động 3, over it, level reached]
    rows.sort(key=lambda r: (r[5] is None, -(r[5] or 0.0), r[0]))
    charted = [r for r in rows if r[4] is not None][:12]  # stations with a Báo động 3
    return SectionResult(
        code="water-levels",
        title_vi="Mực nước cao nhất so với Báo động 3",
        title_en="Highest water level against Alarm 3",
        columns=[
            Column("station", "Trạm", "Station"),
            *AREA_COLUMNS,
            Column("max", "Mực nước cao nhất (m)", "Highest level (m)", "number"),
            Column("bd3", "Báo động 3 (m)", "Alarm 3 (m)", "number"),
            Column("over", "So với BĐ3 (m)", "Against Alarm 3 (m)", "number"),
            Column("level", "Mức đạt tới", "Level reached"),
        ],
        rows=rows,
        chart=Chart(
            "Mực nước cao nhất và Báo động 3 (m)",
            "Highest water level and Alarm 3 (m)",
            labels=[r[0].replace("Trạm thủy văn ", "") for r in charted],
            series=[("Mực nước cao nhất", [r[3] for r in charted])],
            reference=("Báo động 3", [r[4] for r in charted]),
        )
        if charted
        else None,
        note_vi="" if rows else "Không có số liệu mực nước trong kỳ.",
        note_en="" if rows else "No water-level data in the period.",
    )


def air_quality(scope: Scope) -> SectionResult:
    rows: list[list[Any]] = []
    for entity, series_id in _stations(scope, "AirQualityObserved", "aqi"):
        found = _buckets(scope, series_id, "1h", "max")
        if not found:
            continue
        worst_ts, worst = max(found, key=lambda item: (item[1], -item[0]))
        band = aqi_band(worst)
        hour = datetime.fromtimestamp(worst_ts / 1000, scope.tz).strftime("%d/%m/%Y %H:00")
        rows.append([entity["name"], hour, round(worst), band.vi, band.en])
    rows.sort(key=lambda r: -r[2])
    return SectionResult(
        code="air-quality",
        title_vi="Giờ có chỉ số VN_AQI xấu nhất theo trạm",
        title_en="Worst VN_AQI hour by station",
        figures=[Figure("VN_AQI cao nhất", "Highest VN_AQI", rows[0][2])] if rows else [],
        columns=[
            Column("station", "Trạm", "Station"),
            Column("hour", "Giờ", "Hour", "datetime"),
            Column("aqi", "VN_AQI", "VN_AQI", "int"),
            Column("band", "Mức", "Band"),
            Column("band_en", "Mức (EN)", "Band (EN)"),
        ],
        rows=rows,
        note_vi="" if rows else "Không có số liệu VN_AQI trong kỳ.",
        note_en="" if rows else "No VN_AQI data in the period.",
    )

"""Report sections over the command-centre and decision-support domains: incidents, KPIs,
directives and citizen reports — through their service functions only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from taydo.citizen import service as citizen
from taydo.directives import service as directives
from taydo.incidents import service as incidents
from taydo.kpi import service as kpi
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

__all__ = [
    "citizen_section",
    "directives_section",
    "dti_section",
    "incidents_section",
    "kpi_off_target",
    "kpi_section",
]

_STATUS = {"green": "Đạt", "amber": "Cần chú ý", "red": "Không đạt", "grey": "Chưa đủ dữ liệu"}


def _local(scope: Scope, text: str | None) -> str:
    if not text:
        return ""
    return datetime.fromisoformat(text).astimezone(scope.tz).strftime("%d/%m/%Y %H:%M")


def _in_period(scope: Scope, text: str | None) -> bool:
    return bool(text) and scope.start <= datetime.fromisoformat(text) < scope.end  # type: ignore[arg-type]


def _rate(done: int, total: int) -> float | None:
    return done / total if total else None


def _on_time(scope: Scope, count: Any) -> tuple[int, int]:
    """Summed over the scope's agencies (the whole city when it has none)."""
    with scope.database.session() as session:
        if scope.agencies is None:
            return count(session, start=scope.start, end=scope.end)
        done = total = 0
        for code in sorted(scope.agencies):
            d, t = count(session, start=scope.start, end=scope.end, agency_code=code)
            done, total = done + d, total + t
        return done, total


# -- incidents --------------------------------------------------------------------------------


def incidents_section(scope: Scope) -> SectionResult:
    found = [
        i
        for i in incidents.list_incidents(scope.database, None, limit=100_000)
        if scope.covers(i["agency_code"])
    ]
    opened = [i for i in found if _in_period(scope, i["started_at"])]
    names = Names.read(scope)
    active = [i for i in found if i["status"] not in ("resolved", "closed")]
    done, total = _on_time(scope, incidents.on_time_counts)
    return SectionResult(
        code="incidents",
        title_vi="Sự cố trong kỳ",
        title_en="Incidents in the period",
        figures=[
            Figure("Sự cố phát sinh", "Incidents opened", len(opened)),
            Figure("Đang xử lý (hiện tại)", "Open now", len(active)),
            Figure("Quá hạn (hiện tại)", "Overdue now", sum(1 for i in active if i["overdue"])),
            Figure(
                "Xử lý đúng hạn trong kỳ",
                "Resolved on time in the period",
                f"{done}/{total}" if total else "—",
            ),
        ],
        columns=[
            Column("started", "Bắt đầu", "Started", "datetime"),
            Column("code", "Mã", "Code"),
            Column("title", "Sự cố", "Incident"),
            Column("severity", "Mức độ", "Severity"),
            Column("status", "Trạng thái", "Status"),
            *AREA_COLUMNS,
            *AGENCY_COLUMNS,
            Column("due", "Hạn xử lý", "Due", "datetime"),
        ],
        rows=[
            [
                _local(scope, i["started_at"]),
                i["code"],
                i["title"],
                (i["severity_label"] or {}).get("vi", i["severity"]),
                (i["status_label"] or {}).get("vi", i["status"]),
                *names.area(i["area_code"]),
                *names.agency(i["agency_code"]),
                _local(scope, i["due_at"]),
            ]
            for i in opened[:50]
        ],
        note_vi="" if opened else "Không có sự cố nào trong kỳ.",
        note_en="" if opened else "No incident in the period.",
    )


# -- KPIs ---------------------------------------------------------------------------------------


def _kpis(scope: Scope) -> list[dict[str, Any]]:
    """Every KPI with its newest status as of the end of the period (city-wide values)."""
    board = kpi.dashboard(scope.database, None, now=min(scope.end, scope.now))
    rows = []
    for pillar in board["pillars"]:
        for sector in pillar["sectors"]:
            for k in sector["kpis"]:
                rows.append({**k, "pillar_name": pillar["name"], "sector_name": sector["name"]})
    return rows


_KPI_COLUMNS = [
    Column("pillar", "Trụ cột", "Pillar"),
    Column("sector", "Lĩnh vực", "Sector"),
    Column("kpi", "Chỉ số", "KPI"),
    Column("period", "Kỳ", "Period"),
    Column("value", "Giá trị", "Value", "number"),
    Column("target", "Chỉ tiêu", "Target", "number"),
    Column("unit", "Đơn vị", "Unit"),
    Column("status", "Đánh giá", "Status"),
]


def _kpi_row(k: dict[str, Any]) -> list[Any]:
    return [
        k["pillar_name"],
        k["sector_name"],
        k["name"],
        k["period_key"] or "",
        k["value"],
        k["target"],
        k["unit"] or "",
        _STATUS.get(k["status"], k["status"]),
    ]


def kpi_off_target(scope: Scope) -> SectionResult:
    rows = _kpis(scope)
    off = [k for k in rows if k["status"] in ("red", "amber")]
    off.sort(key=lambda k: (k["status"] != "red", k["pillar_name"], k["name"]))
    return SectionResult(
        code="kpi-off-target",
        title_vi="KPI không đạt chỉ tiêu",
        title_en="KPIs off target",
        figures=[
            Figure("Không đạt", "Off target (red)", sum(k["status"] == "red" for k in rows)),
            Figure(
                "Cần chú ý", "Needs attention (amber)", sum(k["status"] == "amber" for k in rows)
            ),
            Figure("Số KPI", "KPIs", len(rows)),
        ],
        columns=_KPI_COLUMNS,
        rows=[_kpi_row(k) for k in off],
        note_vi="" if off else "Mọi KPI có số liệu đều đạt chỉ tiêu.",
        note_en="" if off else "Every KPI with data is on target.",
    )


def kpi_section(scope: Scope) -> SectionResult:
    rows = _kpis(scope)
    pillars = list(dict.fromkeys(k["pillar_name"] for k in rows))
    series: list[tuple[str, list[float | None]]] = [
        (
            _STATUS[status],
            [
                float(sum(1 for k in rows if k["pillar_name"] == p and k["status"] == status))
                for p in pillars
            ],
        )
        for status in ("green", "amber", "red", "grey")
    ]
    return SectionResult(
        code="kpi",
        title_vi="KPI theo trụ cột và lĩnh vực",
        title_en="KPIs by pillar and sector",
        columns=_KPI_COLUMNS,
        rows=[_kpi_row(k) for k in rows],
        chart=Chart("KPI theo trụ cột và đánh giá", "KPIs by pillar and status", pillars, series)
        if rows
        else None,
        note_vi="" if rows else "Chưa có KPI nào.",
        note_en="" if rows else "No KPI yet.",
    )


# -- directives and citizen reports --------------------------------------------------------------


def directives_section(scope: Scope) -> SectionResult:
    names = Names.read(scope)
    rates = [
        r
        for r in directives.agency_rates(scope.database, None, start=scope.start, end=scope.end)
        if scope.covers(r["agency_code"])
    ]
    return SectionResult(
        code="directives",
        title_vi="Chỉ đạo và tiến độ",
        title_en="Directives and their progress",
        figures=[
            Figure(
                "Phần việc đến hạn hoặc xong trong kỳ",
                "Assignments due or done",
                sum(r["counted"] for r in rates),
            ),
            Figure("Đúng hạn", "On time", sum(r["on_time"] for r in rates)),
            Figure("Đang quá hạn (hiện tại)", "Overdue now", sum(r["overdue"] for r in rates)),
        ],
        columns=[
            *AGENCY_COLUMNS,
            Column("counted", "Đến hạn hoặc xong", "Due or done", "int"),
            Column("on_time", "Đúng hạn", "On time", "int"),
            Column("rate", "Tỷ lệ đúng hạn", "On-time rate", "percent"),
            Column("open", "Đang thực hiện", "Open", "int"),
            Column("overdue", "Quá hạn", "Overdue", "int"),
        ],
        rows=[
            [
                *names.agency(r["agency_code"]),
                r["counted"],
                r["on_time"],
                r["rate"],
                r["open"],
                r["overdue"],
            ]
            for r in rates
        ],
        note_vi="" if rates else "Không có chỉ đạo nào.",
        note_en="" if rates else "No directive.",
    )


def citizen_section(scope: Scope) -> SectionResult:
    done, total = _on_time(scope, citizen.on_time_counts)
    ratings: list[tuple[float | None, int]] = []
    with scope.database.session() as session:
        for code in sorted(scope.agencies) if scope.agencies is not None else [None]:
            ratings.append(
                citizen.satisfaction(session, start=scope.start, end=scope.end, agency_code=code)
            )
    count = sum(n for _m, n in ratings)
    mean = sum((m or 0.0) * n for m, n in ratings) / count if count else None
    return SectionResult(
        code="citizen",
        title_vi="Phản ánh hiện trường",
        title_en="Citizen field reports",
        figures=[
            Figure("Đến hạn hoặc đã xử lý trong kỳ", "Due or closed in the period", total),
            Figure("Giải quyết đúng hạn", "Resolved on time", done),
            Figure("Tỷ lệ đúng hạn", "On-time rate", f"{done / total:.0%}" if total else "—"),
            Figure(
                "Mức hài lòng (1–5)",
                "Satisfaction (1–5)",
                round(mean, 2) if mean is not None else "—",
            ),
            Figure("Số đánh giá", "Ratings", count),
        ],
    )


# -- the Digital Transformation Index -----------------------------------------------------------


def dti_section(scope: Scope) -> SectionResult:
    """Each framework's published or entered results of the province, year on year (as of the
    end of the period: a year's results count once the year has begun), and the newest
    year's main indices."""
    result = SectionResult(
        code="dti",
        title_vi="Chỉ số chuyển đổi số (DTI)",
        title_en="Digital Transformation Index (DTI)",
        columns=[
            Column("framework", "Bộ chỉ số", "Framework"),
            Column("year", "Năm", "Year"),
            Column("total", "Điểm (0–1)", "Score (0–1)", "number"),
            Column("change", "Thay đổi so với năm trước", "Change from the year before", "number"),
            Column("rank", "Xếp hạng", "Rank"),
            Column("note", "Ghi chú", "Note"),
        ],
    )
    if scope.province is None:
        result.note_vi, result.note_en = "Chưa đặt tỉnh/thành phố.", "No province configured."
        return result
    last_year = scope.end.astimezone(scope.tz).year
    chart_labels: list[str] = []
    chart_values: list[float | None] = []
    for framework in kpi.list_frameworks(scope.database):
        view = kpi.dti_view(scope.database, framework["code"], scope.province)
        years = [y for y in view["years"] if y["year"] <= last_year]
        for year in years:
            rank = f"{year['rank']}/{year['rank_of']}" if year["rank"] else ""
            result.rows.append(
                [
                    framework["name"],
                    year["year"],
                    year["total"],
                    year["change"].get(""),
                    rank,
                    "trung bình các tỉnh trước sáp nhập" if year["averaged_from_parts"] else "",
                ]
            )
            chart_labels.append(f"{framework['code']} {year['year']}")
            chart_values.append(year["total"])
        if years:
            newest = years[-1]
            for group in framework.get("groups", []):
                for index in group.get("indices", []):
                    score = newest["scores"].get(index["code"])
                    if score is not None:
                        result.figures.append(
                            Figure(
                                f"{index.get('name', index['code'])} ({newest['year']})",
                                f"{index.get('name_en') or index['code']} ({newest['year']})",
                                round(score, 4),
                            )
                        )
    if chart_labels:
        result.chart = Chart(
            "Điểm DTI theo năm", "DTI score by year", chart_labels, [("Điểm DTI", chart_values)]
        )
    else:
        result.note_vi = "Chưa có kết quả DTI của tỉnh/thành phố."
        result.note_en = "No DTI result of the province yet."
    return result

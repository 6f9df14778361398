"""The sections of the reports, one declaration each (``base.Section``): the report kinds
each belongs to, in the order they are printed, and the function that fills it.

Sections over KPIs, the DTI, incidents, directives and citizen reports are declared with
``build=None`` until those domains are installed: the report then says "not installed"
instead of showing an empty table that would read as "nothing happened". Wiring one is
one line: its ``build`` (a function of ``Scope`` returning a ``SectionResult``)."""

from __future__ import annotations

from taydo.reports.service import sections as s
from taydo.reports.service import siblings
from taydo.reports.service.base import Section
from taydo.reports.service.scorecards import scorecard_section

__all__ = ["SECTIONS", "section"]

BOTH = ("daily", "monthly")
DAILY = ("daily",)
MONTHLY = ("monthly",)

SECTIONS: tuple[Section, ...] = (
    Section(
        "alerts", "Cảnh báo trong kỳ", "Alerts in the period", BOTH, s.alerts_summary, "alerts"
    ),
    Section(
        "incidents",
        "Sự cố trong kỳ",
        "Incidents in the period",
        BOTH,
        siblings.incidents_section,
        "incidents",
    ),
    Section(
        "kpi-off-target",
        "KPI không đạt chỉ tiêu",
        "KPIs off target",
        BOTH,
        siblings.kpi_off_target,
        "kpi",
    ),
    Section("data-health", "Sức khỏe dữ liệu", "Data health", BOTH, s.data_health, "ingest"),
    Section("quarantine", "Dữ liệu bị cách ly", "Quarantined input", BOTH, s.quarantine, "ingest"),
    Section("water-levels", "Mực nước", "Water levels", BOTH, s.water_levels, "observations"),
    Section(
        "air-quality", "Chất lượng không khí", "Air quality", BOTH, s.air_quality, "observations"
    ),
    Section(
        "alerts-late",
        "Cảnh báo tiếp nhận chậm",
        "Alerts acknowledged late",
        DAILY,
        s.alerts_late,
        "alerts",
    ),
    Section("alerts-list", "Danh sách cảnh báo", "Alerts", DAILY, s.alerts_list, "alerts"),
    Section(
        "kpi",
        "KPI theo trụ cột và lĩnh vực",
        "KPIs by pillar and sector",
        MONTHLY,
        siblings.kpi_section,
        "kpi",
    ),
    Section(
        "dti",
        "Chỉ số chuyển đổi số (DTI)",
        "Digital Transformation Index (DTI)",
        MONTHLY,
        siblings.dti_section,
        "kpi",
    ),
    Section(
        "directives",
        "Chỉ đạo và tiến độ",
        "Directives and their progress",
        MONTHLY,
        siblings.directives_section,
        "directives",
    ),
    Section(
        "citizen",
        "Phản ánh hiện trường",
        "Citizen field reports",
        MONTHLY,
        siblings.citizen_section,
        "citizen",
    ),
    Section(
        "scorecards",
        "Bảng điểm cơ quan",
        "Agency scorecards",
        MONTHLY,
        scorecard_section,
        "reports",
    ),
)


def section(code: str) -> Section:
    for found in SECTIONS:
        if found.code == code:
            return found
    raise KeyError(code)

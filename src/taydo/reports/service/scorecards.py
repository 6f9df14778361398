"""Agency scorecards: per agency, a row of *measures* (one declaration each), every value
with its status — green, amber, red, or grey when there is no data to judge.

Measures over incidents, directives and citizen reports are declared with ``fetch=None``
until those domains are installed (status ``not-installed``); wiring one is one line, e.g.
``fetch=from_on_time_counts(incidents.on_time_counts)`` with the sibling's
``on_time_counts(session, *, start, end, agency_code)`` counting function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from taydo.catalog.service import list_agencies
from taydo.citizen import service as citizen
from taydo.directives import service as directives
from taydo.incidents import service as incidents
from taydo.reports.service.base import AGENCY_COLUMNS, Column, Scope, SectionResult
from taydo.reports.service.sections import agency_health

__all__ = [
    "MEASURES",
    "STATUSES",
    "Measure",
    "from_on_time_counts",
    "from_satisfaction",
    "judge",
    "scorecard_section",
    "scorecards",
]

Fetch = Callable[[Scope, list[str]], dict[str, float | None]]

STATUSES: dict[str, tuple[str, str, str]] = {
    # code: (vi, en, colour) — the same traffic lights as KPI statuses
    "green": ("Đạt", "On target", "#27ae60"),
    "amber": ("Cần chú ý", "Needs attention", "#f2994a"),
    "red": ("Không đạt", "Off target", "#eb5757"),
    "grey": ("Chưa đủ dữ liệu", "Not enough data", "#9e9e9e"),
    "not-installed": ("Chưa cài đặt", "Not installed", "#bdbdbd"),
}
_RANK = {"red": 3, "amber": 2, "green": 1}


@dataclass(frozen=True)
class Measure:
    code: str
    vi: str
    en: str
    kind: str  # percent | score (1–5)
    higher_is_better: bool
    green: float  # at or beyond: green
    amber: float  # at or beyond: amber; else red
    fetch: Fetch | None
    provider: str  # the domain whose services feed it


def judge(measure: Measure, value: float | None) -> str:
    if measure.fetch is None:
        return "not-installed"
    if value is None:
        return "grey"
    if measure.higher_is_better:
        return "green" if value >= measure.green else "amber" if value >= measure.amber else "red"
    return "green" if value <= measure.green else "amber" if value <= measure.amber else "red"


def _freshness(scope: Scope, agencies: list[str]) -> dict[str, float | None]:
    health = agency_health(scope)
    found: dict[str, float | None] = {}
    for code in agencies:
        h = health.get(code)
        found[code] = h["fresh"] / h["datasets"] if h and h["datasets"] else None
    return found


def _quarantine(scope: Scope, agencies: list[str]) -> dict[str, float | None]:
    health = agency_health(scope)
    found: dict[str, float | None] = {}
    for code in agencies:
        h = health.get(code)
        total = (h["received"] + h["rejected"]) if h else 0
        found[code] = h["rejected"] / total if h and total else None
    return found


def from_on_time_counts(count: Callable[..., tuple[int, int]]) -> Fetch:
    """A measure's fetch from a sibling's ``on_time_counts(session, *, start, end,
    agency_code)`` → (finished on time, due or finished): the on-time share per agency."""

    def fetch(scope: Scope, agencies: list[str]) -> dict[str, float | None]:
        found: dict[str, float | None] = {}
        with scope.database.session() as session:
            for code in agencies:
                on_time, total = count(session, start=scope.start, end=scope.end, agency_code=code)
                found[code] = on_time / total if total else None
        return found

    return fetch


def from_satisfaction(mean: Callable[..., tuple[float | None, int]]) -> Fetch:
    """A measure's fetch from citizen's ``satisfaction(session, *, start, end, agency_code)``
    → (mean rating 1–5 or None, number of ratings)."""

    def fetch(scope: Scope, agencies: list[str]) -> dict[str, float | None]:
        found: dict[str, float | None] = {}
        with scope.database.session() as session:
            for code in agencies:
                value, count = mean(session, start=scope.start, end=scope.end, agency_code=code)
                found[code] = value if count else None
        return found

    return fetch


MEASURES: tuple[Measure, ...] = (
    Measure(
        "freshness",
        "Dữ liệu kịp thời",
        "Fresh datasets",
        "percent",
        True,
        0.9,
        0.7,
        _freshness,
        "ingest",
    ),
    Measure(
        "quarantine",
        "Tỷ lệ cách ly",
        "Quarantine rate",
        "percent",
        False,
        0.01,
        0.05,
        _quarantine,
        "ingest",
    ),
    Measure(
        "incidents",
        "Sự cố xử lý đúng hạn",
        "Incidents on time",
        "percent",
        True,
        0.9,
        0.75,
        from_on_time_counts(incidents.on_time_counts),
        "incidents",
    ),
    Measure(
        "directives",
        "Chỉ đạo hoàn thành đúng hạn",
        "Directives on time",
        "percent",
        True,
        0.9,
        0.75,
        from_on_time_counts(directives.on_time_counts),
        "directives",
    ),
    Measure(
        "citizen",
        "Phản ánh giải quyết đúng hạn",
        "Citizen reports on time",
        "percent",
        True,
        0.9,
        0.75,
        from_on_time_counts(citizen.on_time_counts),
        "citizen",
    ),
    Measure(
        "satisfaction",
        "Mức hài lòng (1–5)",
        "Satisfaction (1–5)",
        "score",
        True,
        4.0,
        3.0,
        from_satisfaction(citizen.satisfaction),
        "citizen",
    ),
)


def scorecards(scope: Scope) -> list[dict[str, Any]]:
    """One row per agency in scope: {code, name, name_en, measures: {code: {value, status}},
    status} — the row's status is its worst judged measure (grey when none is judged)."""
    agencies, _total = list_agencies(scope.database, limit=100_000)
    listed = [a for a in agencies if scope.covers(a["code"])]
    codes = [a["code"] for a in listed]
    values = {m.code: (m.fetch(scope, codes) if m.fetch else {}) for m in MEASURES}
    rows = []
    for agency in listed:
        measures = {}
        for m in MEASURES:
            value = values[m.code].get(agency["code"])
            measures[m.code] = {"value": value, "status": judge(m, value)}
        judged = [v["status"] for v in measures.values() if v["status"] in _RANK]
        rows.append(
            {
                "code": agency["code"],
                "name": agency["name"],
                "name_en": agency.get("name_en") or agency["name"],
                "measures": measures,
                "status": max(judged, key=_RANK.__getitem__) if judged else "grey",
            }
        )
    return rows


def scorecard_section(scope: Scope) -> SectionResult:
    rows = scorecards(scope)
    columns = list(AGENCY_COLUMNS)  # the agency's name, its code beside it
    columns += [Column(m.code, m.vi, m.en, "percent" if m.kind == "percent" else "number")
                for m in MEASURES]  # fmt: skip
    columns.append(Column("status", "Đánh giá chung", "Overall"))
    pending = [m for m in MEASURES if m.fetch is None]
    return SectionResult(
        code="scorecards",
        title_vi="Bảng điểm cơ quan",
        title_en="Agency scorecards",
        columns=columns,
        rows=[
            [r["name"], r["code"]]
            + [r["measures"][m.code]["value"] for m in MEASURES]
            + [STATUSES[r["status"]][0]]
            for r in rows
        ],
        note_vi=("Chưa cài đặt: " + ", ".join(m.vi for m in pending) + "." if pending else ""),
        note_en=("Not installed: " + ", ".join(m.en for m in pending) + "." if pending else ""),
    )

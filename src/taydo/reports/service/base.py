"""What a report is made of: *sections*, each a small declaration (code, titles, the report
kinds it belongs to, and a function that returns its figures, table and chart for a period
and an agency scope). A section over another domain is one entry of ``SECTIONS``
(``taydo.reports.service.sections``); a section whose domain is not installed yet is declared
with ``build=None`` and shows as "not installed" in every output."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from taydo.catalog.service import list_agencies
from taydo.core.db import Database
from taydo.geo.service import area_names, list_areas

__all__ = [
    "AGENCY_COLUMNS",
    "AREA_COLUMNS",
    "FORMATS",
    "KINDS",
    "Chart",
    "Column",
    "Figure",
    "Names",
    "Report",
    "Scope",
    "Section",
    "SectionResult",
]

KINDS: dict[str, tuple[str, str]] = {
    "daily": ("Báo cáo giao ban hằng ngày", "Daily operations briefing"),
    "monthly": ("Báo cáo tháng về KPI và chuyển đổi số", "Monthly KPI and DTI report"),
}
FORMATS: dict[str, str] = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Scope:
    """The period [start, end) (aware UTC) and the agencies covered (None: all)."""

    database: Database
    kind: str
    day: date  # the day of a daily report; the first day of a monthly one
    start: datetime
    end: datetime
    tz: ZoneInfo
    agencies: frozenset[str] | None
    now: datetime
    province: str | None = None  # the province/city the IOC serves (its DTI results)

    def covers(self, agency: str | None) -> bool:
        return self.agencies is None or agency in self.agencies


@dataclass(frozen=True)
class Column:
    key: str
    vi: str
    en: str
    kind: str = "text"  # text | int | number | percent | datetime (ISO text)


# Every export of the product names an agency and an area the same way: its name under
# "Cơ quan" ("Khu vực"), its code beside it under "Mã cơ quan" ("Mã khu vực").
AGENCY_COLUMNS = (
    Column("agency", "Cơ quan", "Agency"),
    Column("agency_code", "Mã cơ quan", "Agency code"),
)
AREA_COLUMNS = (
    Column("area", "Khu vực", "Area"),
    Column("area_code", "Mã khu vực", "Area code"),
)


@dataclass(frozen=True)
class Names:
    """The agencies' and the province's wards' names (catalog and geography services), for
    the two cells of :data:`AGENCY_COLUMNS` and :data:`AREA_COLUMNS`."""

    agencies: dict[str, str]
    areas: dict[str, str]

    @classmethod
    def read(cls, scope: Scope) -> Names:
        found, _total = list_agencies(scope.database, limit=100_000)
        agencies = {str(a["code"]): str(a["name"]) for a in found}
        if scope.province:
            areas = area_names(scope.database, scope.province)
        else:  # no province named: every ward and commune of the country
            wards, _total = list_areas(scope.database, level=2, limit=100_000)
            areas = {str(a["code"]): str(a["name"]) for a in wards}
        return cls(agencies, areas)

    def agency(self, code: str | None) -> list[str]:
        """[name, code]; a code nothing names is its own name, no code two empty cells."""
        return [self.agencies.get(code, code), code] if code else ["", ""]

    def area(self, code: str | None) -> list[str]:
        return [self.areas.get(code, code), code] if code else ["", ""]


@dataclass(frozen=True)
class Figure:
    vi: str
    en: str
    value: Any


@dataclass(frozen=True)
class Chart:
    """A bar chart: one bar per label per series; ``reference`` draws a marker per label
    (e.g. each station's Báo động 3)."""

    title_vi: str
    title_en: str
    labels: list[str]
    series: list[tuple[str, list[float | None]]]  # (legend, values)
    reference: tuple[str, list[float | None]] | None = None
    colours: list[str] | None = None  # one per label (e.g. severity colours)


@dataclass
class SectionResult:
    code: str
    title_vi: str
    title_en: str
    installed: bool = True
    figures: list[Figure] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    chart: Chart | None = None
    note_vi: str = ""
    note_en: str = ""


@dataclass(frozen=True)
class Section:
    code: str
    title_vi: str
    title_en: str
    kinds: tuple[str, ...]
    build: Callable[[Scope], SectionResult] | None
    provider: str  # the domain whose services feed it (said when it is not installed)


@dataclass
class Report:
    kind: str
    scope: Scope
    agency: str | None
    sections: list[SectionResult]

    @property
    def title_vi(self) -> str:
        return KINDS[self.kind][0]

    @property
    def title_en(self) -> str:
        return KINDS[self.kind][1]

    @property
    def period_label(self) -> str:
        if self.kind == "monthly":
            return f"{self.scope.day.month:02d}/{self.scope.day.year}"
        return self.scope.day.strftime("%d/%m/%Y")

    @property
    def agencies(self) -> list[str]:
        """The agencies covered: the one asked for, an officer's own, or none (whole city)."""
        if self.agency:
            return [self.agency]
        return sorted(self.scope.agencies) if self.scope.agencies is not None else []

    @property
    def scope_label(self) -> str:
        return ", ".join(self.agencies) or "Toàn thành phố / Whole city"

    @property
    def stem(self) -> str:
        """The file name without extension, e.g. ``bao-cao-daily-2026-12-02-SXD``."""
        period = (
            f"{self.scope.day:%Y-%m}" if self.kind == "monthly" else f"{self.scope.day:%Y-%m-%d}"
        )
        # The agency code comes from the caller: only safe ASCII goes into a file name (and
        # into the Content-Disposition header, which carries Latin-1 at most).
        safe = re.sub(r"[^A-Za-z0-9_-]", "_", "-".join(self.agencies))[:60]
        suffix = f"-{safe}" if safe else ""
        return f"taydo-{self.kind}-{period}{suffix}"

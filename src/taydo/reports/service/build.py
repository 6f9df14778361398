"""Assembling a report: its period in the display time zone, the agencies it may cover, and
its sections in the order of the table."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Forbidden, Invalid
from taydo.reports.service.base import KINDS, Report, Scope, Section, SectionResult
from taydo.reports.service.table import SECTIONS

__all__ = [
    "FIRST_DAY",
    "LAST_DAY",
    "build_report",
    "default_day",
    "make_scope",
    "period",
    "scope_agencies",
]

log = logging.getLogger(__name__)

FIRST_DAY = date(2000, 1, 1)  # reports cover what an IOC can hold, not any calendar date
LAST_DAY = date(2100, 12, 31)


def period(kind: str, day: date, tz: ZoneInfo) -> tuple[date, datetime, datetime]:
    """(first day, start, end) in UTC: the local day of ``day``, or its local month."""
    if kind not in KINDS:
        raise Invalid(
            f"loại báo cáo không hợp lệ / unknown report kind {kind!r}", kinds=list(KINDS)
        )
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Invalid(
            f"ngày ngoài phạm vi / the date must be between {FIRST_DAY} and {LAST_DAY}",
            date=day.isoformat(),
        )
    if kind == "monthly":
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
    else:
        first, following = day, day + timedelta(days=1)
    start = datetime.combine(first, time(), tz).astimezone(UTC)
    end = datetime.combine(following, time(), tz).astimezone(UTC)
    return first, start, end


def default_day(kind: str, now: datetime, tz: ZoneInfo) -> date:
    """The last complete period: yesterday for a daily report, last month for a monthly."""
    today = now.astimezone(tz).date()
    if kind == "monthly":
        return (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return today - timedelta(days=1)


def scope_agencies(principal: Principal | None, agency: str | None) -> frozenset[str] | None:
    """The agencies a report may cover: an agency officer's own (or one of them), anyone
    else's choice (None: every agency)."""
    if principal is not None and not principal.sees_everything:
        if agency is None:
            return frozenset(principal.agencies)
        if agency not in principal.agencies:
            raise Forbidden(
                f"báo cáo chỉ trong phạm vi cơ quan của bạn / you may only report on your "
                f"own agencies, not {agency!r}"
            )
    return frozenset({agency}) if agency is not None else None


def _fill(section: Section, scope: Scope) -> SectionResult:
    if section.build is None:
        return SectionResult(
            code=section.code,
            title_vi=section.title_vi,
            title_en=section.title_en,
            installed=False,
            note_vi=f"Chưa cài đặt: mục này cần phân hệ “{section.provider}”.",
            note_en=f"Not installed: this section needs the “{section.provider}” domain.",
        )
    return section.build(scope)


def make_scope(
    database: Database,
    *,
    kind: str,
    tz: ZoneInfo,
    day: date | None = None,
    agency: str | None = None,
    principal: Principal | None = None,
    now: datetime | None = None,
    province: str | None = None,
) -> Scope:
    """The period holding ``day`` (default: the last complete one) and the agencies covered:
    ``agency`` or, for an agency officer, their own."""
    now = now or clock.now()
    first, start, end = period(kind, day or default_day(kind, now, tz), tz)
    return Scope(
        database=database,
        kind=kind,
        day=first,
        start=start,
        end=end,
        tz=tz,
        agencies=scope_agencies(principal, agency),
        now=now,
        province=province,
    )


def build_report(
    database: Database,
    *,
    kind: str,
    tz: ZoneInfo,
    day: date | None = None,
    agency: str | None = None,
    principal: Principal | None = None,
    now: datetime | None = None,
    province: str | None = None,
) -> Report:
    """The report of ``kind`` for the period holding ``day`` (default: the last complete
    one), over ``agency`` or, for an agency officer, their agencies."""
    agency = (agency or "").strip() or None
    scope = make_scope(
        database,
        kind=kind,
        tz=tz,
        day=day,
        agency=agency,
        principal=principal,
        now=now,
        province=province,
    )
    sections = [_fill(s, scope) for s in SECTIONS if kind in s.kinds]
    return Report(kind=kind, scope=scope, agency=agency, sections=sections)

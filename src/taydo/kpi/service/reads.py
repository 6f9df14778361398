"""What the dashboard, the KPI page, the API and the CLI read: a few queries each, no
computation (the engine stores every value beforehand)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, true

from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import NotFound
from taydo.kpi.models import CITY, Kpi, KpiSector, KpiValue
from taydo.kpi.schemas import PILLARS
from taydo.kpi.service.definitions import get_kpi

__all__ = ["SPARK", "dashboard", "kpi_detail", "kpi_values"]

SPARK = 12  # values in a sparkline
# How far back the dashboard reads, per period kind: a little over 12 periods.
_SPAN = {
    "day": timedelta(days=13),
    "week": timedelta(weeks=13),
    "month": timedelta(days=380),
    "quarter": timedelta(days=3 * 380),
    "year": timedelta(days=13 * 366),
}


def _visible(principal: Principal | None) -> ColumnElement[bool]:
    """Agency officers see their agencies' KPIs and the city's shared ones (no agency)."""
    if principal is None or principal.sees_everything:
        return true()
    return or_(Kpi.agency_code.is_(None), Kpi.agency_code.in_(sorted(principal.agencies)))


def dashboard(database: Database, principal: Principal | None, *, now: datetime) -> dict[str, Any]:
    """Pillars → sectors → KPIs, each with its latest value and status and a sparkline of
    its last ``SPARK`` city-wide values: two queries whatever the number of KPIs."""
    window = or_(
        *(
            and_(Kpi.period == kind, KpiValue.period_start >= now - span)
            for kind, span in _SPAN.items()
        )
    )
    with database.engine.connect() as connection:
        kpis = connection.execute(
            select(
                Kpi.id,
                Kpi.code,
                Kpi.name,
                Kpi.name_en,
                Kpi.pillar,
                Kpi.sector,
                Kpi.unit,
                Kpi.direction,
                Kpi.period,
                Kpi.target,
                Kpi.target_proposed,
            )
            .where(_visible(principal))
            .order_by(Kpi.code)
        ).all()
        values = connection.execute(
            select(
                KpiValue.kpi_id,
                KpiValue.period_key,
                KpiValue.value,
                KpiValue.status,
                KpiValue.reason,
                KpiValue.closed,
            )
            .join(Kpi, Kpi.id == KpiValue.kpi_id)
            .where(KpiValue.area_code == CITY, window, _visible(principal))
            .order_by(KpiValue.kpi_id, KpiValue.period_start)
        ).all()
        sectors = connection.execute(
            select(KpiSector.code, KpiSector.name, KpiSector.name_en).order_by(KpiSector.position)
        ).all()
    series: dict[int, list[Any]] = defaultdict(list)
    for row in values:
        series[row[0]].append(row)
    counts = {"green": 0, "amber": 0, "red": 0, "grey": 0}
    tree: dict[str, dict[str | None, list[dict[str, Any]]]] = {p: {} for p in PILLARS}
    for k in kpis:
        history = series.get(k.id, [])[-SPARK:]
        # The newest period with a value (an open period often has none yet: a month's
        # figures are entered after it ends); the newest period when none has one.
        valued = [h for h in history if h.value is not None]
        last = valued[-1] if valued else (history[-1] if history else None)
        status = last.status if last is not None else "grey"
        counts[status] += 1
        tree.setdefault(k.pillar, {}).setdefault(k.sector, []).append(
            {
                "code": k.code,
                "name": k.name,
                "name_en": k.name_en,
                "unit": k.unit,
                "direction": k.direction,
                "period": k.period,
                "target": k.target,
                "target_proposed": k.target_proposed,
                "value": last.value if last is not None else None,
                "period_key": last.period_key if last is not None else None,
                "open": last is not None and not last.closed,
                "status": status,
                "reason": (last.reason if last is not None else "chưa tính / not computed yet"),
                "spark": [h.value for h in history],
            }
        )
    names = {code: (name, name_en) for code, name, name_en in sectors}
    order = {code: n for n, (code, _a, _b) in enumerate(sectors)}
    pillars = []
    for code, (vi, en) in PILLARS.items():
        groups = tree.get(code, {})
        pillars.append(
            {
                "code": code,
                "name": vi,
                "name_en": en,
                "sectors": [
                    {
                        "code": sector,
                        "name": names.get(sector, (sector or "Chung", ""))[0]
                        if sector
                        else "Chung",
                        "name_en": names.get(sector, ("", sector or "General"))[1]
                        if sector
                        else "General",
                        "kpis": groups[sector],
                    }
                    for sector in sorted(groups, key=lambda s: (order.get(s or "", 999), s or ""))
                ],
            }
        )
    return {"pillars": pillars, "counts": counts, "total": len(kpis)}


def _kpi_row(session: Any, code: str, principal: Principal | None) -> Kpi:
    kpi = session.scalar(select(Kpi).where(Kpi.code == code))
    if kpi is None or (
        principal is not None and not principal.may_see_agency(kpi.agency_code) and kpi.agency_code
    ):
        raise NotFound(f"không có chỉ số / no KPI {code!r}")
    return kpi


def _value(row: KpiValue) -> dict[str, Any]:
    return {
        "period": row.period_key,
        "start": row.period_start.isoformat(),
        "area": row.area_code or None,
        "value": row.value,
        "status": row.status,
        "reason": row.reason,
        "closed": row.closed,
        "formula_version": row.formula_version,
        "computed_at": row.computed_at.isoformat(),
        "inputs": row.inputs,
    }


def kpi_values(
    database: Database,
    code: str,
    principal: Principal | None,
    *,
    period: str | None = None,
    limit: int = 60,
) -> list[dict[str, Any]]:
    """The city's values (newest first), or every ward's value of one period."""
    with database.session() as session:
        kpi = _kpi_row(session, code, principal)
        statement = select(KpiValue).where(KpiValue.kpi_id == kpi.id)
        if period is None:
            statement = (
                statement.where(KpiValue.area_code == CITY)
                .order_by(KpiValue.period_start.desc())
                .limit(limit)
            )
        else:
            statement = statement.where(KpiValue.period_key == period).order_by(KpiValue.area_code)
        return [_value(r) for r in session.scalars(statement)]


def kpi_detail(database: Database, code: str, principal: Principal | None) -> dict[str, Any]:
    """The definition, the city's history, and the newest period's breakdown by ward."""
    history = kpi_values(database, code, principal, limit=36)
    # As on the dashboard: the newest period with a value (an open one often has none yet).
    latest = next((h for h in history if h["value"] is not None), history[0] if history else None)
    wards = (
        [v for v in kpi_values(database, code, principal, period=latest["period"]) if v["area"]]
        if latest
        else []
    )
    return {
        "kpi": get_kpi(database, code),
        "history": history[::-1],
        "latest": latest,
        "wards": wards,
    }

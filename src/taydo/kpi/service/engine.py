"""The KPI engine: computes the periods that need it and keeps every value with what it was
computed from.

Incremental: an open period is always computed again; a closed one only when it has no value
yet, its formula changed (``Kpi.version``), its entered values changed after it was computed
(records), its inputs are other KPIs (ratio: cheap), or it closed less than ``LATE_HOURS`` ago
(late data still arrives then). ``force`` recomputes everything in the window. A closed
period is computed over exactly [start, end) from stored data, so recomputing it gives the
same value and the same inputs (tests/kpi/test_engine.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taydo.core.db import Database
from taydo.kpi.models import CITY, Kpi, KpiEntry, KpiValue
from taydo.kpi.periods import Period, recent
from taydo.kpi.sources import KINDS, Context, Outcome

__all__ = ["LATE_HOURS", "WINDOWS", "ComputeRun", "compute", "compute_period", "judge"]

# How many periods back a run looks at (the dashboard shows 12).
WINDOWS = {"day": 35, "week": 13, "month": 13, "quarter": 8, "year": 5}
LATE_HOURS = 48


@dataclass
class ComputeRun:
    computed: int = 0  # (KPI, period) pairs computed
    kept: int = 0  # closed periods left as they were
    changes: list[dict[str, Any]] = field(default_factory=list)  # city status changes


def judge(
    value: float | None, direction: str, target: float | None, warn: float | None
) -> tuple[str, str]:
    """(status, reason): green at or beyond the target, amber between it and ``warn``, red
    beyond ``warn`` (or below the target without one); grey without a value or a target."""
    if value is None:
        return "grey", ""
    if target is None:
        return "grey", "chưa đặt mục tiêu / no target set"
    better = (lambda a, b: a >= b) if direction == "higher" else (lambda a, b: a <= b)
    if better(value, target):
        return "green", ""
    if warn is not None and better(value, warn):
        return "amber", ""
    return "red", ""


def _records(session: Session, kpi: Kpi, period: Period) -> Outcome:
    rows = session.scalars(
        select(KpiEntry)
        .where(KpiEntry.kpi_id == kpi.id, KpiEntry.period_key == period.key)
        .order_by(KpiEntry.area_code)
    ).all()
    entries = [
        {
            "area": r.area_code or None,
            "value": r.value,
            "evidence": r.evidence,
            "by": r.entered_by,
            "at": r.entered_at.isoformat(),
        }
        for r in rows
    ]
    city = next((r for r in rows if r.area_code == CITY), None)
    wards = [r for r in rows if r.area_code != CITY]
    areas: dict[str, tuple[float | None, dict[str, Any]]] = {
        r.area_code: (r.value, {"entries": [e for e in entries if e["area"] == r.area_code]})
        for r in wards
    }
    inputs = {"entries": entries}
    if city is not None:
        return Outcome(city.value, "", inputs, areas)
    if not wards:
        return Outcome(
            None, "chưa nhập số liệu cho kỳ này / no value entered for this period", inputs
        )
    values = [r.value for r in wards]
    how = kpi.source.get("aggregate", "sum")
    value = sum(values) if how == "sum" else sum(values) / len(values)
    inputs["from_wards"] = how
    return Outcome(value, "", inputs, areas)


def _stored_reader(session: Session) -> Callable[[str, str], dict[str, float | None]]:
    def stored(code: str, period_key: str) -> dict[str, float | None]:
        rows = session.execute(
            select(KpiValue.area_code, KpiValue.value)
            .join(Kpi, Kpi.id == KpiValue.kpi_id)
            .where(Kpi.code == code, KpiValue.period_key == period_key)
        ).all()
        return {area: value for area, value in rows}

    return stored


def compute_period(
    session: Session, dialect: str, kpi: Kpi, period: Period, now: datetime
) -> Outcome:
    """The value of ``kpi`` for ``period`` from stored data (an open period up to ``now``)."""
    until = min(period.end, max(now, period.start))
    if kpi.source_kind == "records":
        outcome = _records(session, kpi, period)
    else:
        ctx = Context(
            session, dialect, period.start, period.end, until, period.key, _stored_reader(session)
        )
        params = {k: v for k, v in kpi.source.items() if k != "kind"}
        outcome = KINDS[kpi.source_kind].compute(ctx, params)
    outcome.inputs = {
        "period": period.key,
        "start": period.start.isoformat(),
        "end": until.isoformat(),
        "source": kpi.source,
        "formula_version": kpi.version,
        **outcome.inputs,
    }
    return outcome


def _store(
    session: Session, kpi: Kpi, period: Period, closed: bool, outcome: Outcome, now: datetime
) -> tuple[str | None, str]:
    """Write the city value and the wards' (removing wards no longer there); returns the city
    status before and after."""
    rows = {
        r.area_code: r
        for r in session.scalars(
            select(KpiValue).where(KpiValue.kpi_id == kpi.id, KpiValue.period_key == period.key)
        )
    }
    wanted: dict[str, tuple[float | None, str, dict[str, Any]]] = {
        CITY: (outcome.value, outcome.reason, outcome.inputs)
    }
    for code, (value, inputs) in outcome.areas.items():
        wanted[code] = (value, "" if value is not None else "không có số liệu / no data", inputs)
    before = rows[CITY].status if CITY in rows else None
    after = "grey"
    for area, (value, why, inputs) in wanted.items():
        if value is not None and value != value:  # NaN never reaches the database
            value, why = None, "giá trị không xác định / undefined value"
        status, judged = judge(value, kpi.direction, kpi.target, kpi.warn)
        row = rows.pop(area, None)
        if row is None:
            row = KpiValue(kpi_id=kpi.id, period_key=period.key, area_code=area)
            session.add(row)
        row.period_start = period.start
        row.value = None if value is None else round(value, 9)
        row.status = status
        row.reason = why or judged
        row.inputs = inputs
        row.formula_version = kpi.version
        row.closed = closed
        row.computed_at = now
        if area == CITY:
            after = status
    for stale in rows.values():
        session.delete(stale)
    return before, after


def _ordered(kpis: Iterable[Kpi]) -> list[Kpi]:
    """Kinds that read other KPIs last; a ratio of ratios after the ratios it reads."""
    pending = sorted(kpis, key=lambda k: (KINDS[k.source_kind].order, k.code))
    done: list[Kpi] = []
    placed: set[str] = set()
    for _ in range(len(pending) + 1):
        rest = []
        for kpi in pending:
            needs = {kpi.source.get("numerator"), kpi.source.get("denominator")} - {None}
            if (
                kpi.source_kind != "ratio"
                or needs <= placed
                or not needs & {k.code for k in pending}
            ):
                done.append(kpi)
                placed.add(kpi.code)
            else:
                rest.append(kpi)
        if not rest:
            return done
        pending = rest
    return done + pending  # a circle: computed anyway, its values grey until the inputs exist


def compute(
    database: Database,
    *,
    now: datetime,
    zone: str,
    codes: Iterable[str] | None = None,
    force: bool = False,
    back: int | None = None,
) -> ComputeRun:
    """Compute what needs computing (see the module's text); one transaction per KPI."""
    run = ComputeRun()
    with database.session() as session:
        statement = select(Kpi.id)
        if codes is not None:
            statement = statement.where(Kpi.code.in_(list(codes)))
        ids = [k.id for k in _ordered(session.scalars(select(Kpi).where(Kpi.id.in_(statement))))]
    for kpi_id in ids:
        with database.session() as session:
            kpi = session.get(Kpi, kpi_id)
            if kpi is None:
                continue
            periods = [
                p
                for p in recent(kpi.period, now, zone, back or WINDOWS[kpi.period])
                if p.start <= now
            ]
            known = {
                key: (version, closed, at)
                for key, version, closed, at in session.execute(
                    select(
                        KpiValue.period_key,
                        KpiValue.formula_version,
                        KpiValue.closed,
                        KpiValue.computed_at,
                    ).where(KpiValue.kpi_id == kpi.id, KpiValue.area_code == CITY)
                )
            }
            entered = {}
            if kpi.source_kind == "records":
                entered = dict(
                    session.execute(
                        select(KpiEntry.period_key, func.max(KpiEntry.entered_at))
                        .where(KpiEntry.kpi_id == kpi.id)
                        .group_by(KpiEntry.period_key)
                    ).all()
                )
            before = _headline(session, kpi.id)
            for period in periods:
                closed = period.end <= now
                old = known.get(period.key)
                if (
                    not force
                    and old is not None
                    and _current(kpi, period, closed, old, entered, now)
                ):
                    run.kept += 1
                    continue
                outcome = compute_period(session, database.dialect, kpi, period, now)
                _store(session, kpi, period, closed, outcome, now)
                run.computed += 1
            session.flush()
            after = _headline(session, kpi.id)
            changed = after is not None and (before is None or before[1] != after[1])
            if after is not None and changed and not (before is None and after[1] == "grey"):
                run.changes.append(
                    {
                        "code": kpi.code,
                        "period": after[0],
                        "before": before[1] if before is not None else None,
                        "status": after[1],
                        "value": after[2],
                    }
                )
    return run


def _headline(session: Session, kpi_id: int) -> tuple[str, str, float | None] | None:
    """(period, status, value) the dashboard shows for a KPI: its newest city value that has
    a value, else its newest city value; None before the first computation."""
    rows = session.execute(
        select(KpiValue.period_key, KpiValue.status, KpiValue.value)
        .where(KpiValue.kpi_id == kpi_id, KpiValue.area_code == CITY)
        .order_by(KpiValue.period_start.desc())
        .limit(40)
    ).all()
    if not rows:
        return None
    valued = next((r for r in rows if r[2] is not None), rows[0])
    return valued[0], valued[1], valued[2]


def _current(
    kpi: Kpi,
    period: Period,
    closed: bool,
    old: tuple[int, bool, datetime],
    entered: dict[str, datetime],
    now: datetime,
) -> bool:
    """True when the stored value of a period needs no new computation."""
    version, was_closed, at = old
    if not closed or not was_closed or version != kpi.version:
        return False
    if kpi.source_kind == "records":
        newest = entered.get(period.key)
        return newest is None or newest <= at
    if kpi.source_kind == "ratio":
        return False
    return now - period.end > timedelta(hours=LATE_HOURS)

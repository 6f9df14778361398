"""The demo's KPI figures: values for the KPIs officers enter (the last 12 periods, some by
ward), so the executive dashboard is filled on the first start. They are made up — each
entry's evidence says so — and never written over a value already entered. The KPIs over
observations compute from the simulator's history; the others stay grey until their domains
are installed."""

from __future__ import annotations

import random
from datetime import datetime

from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import TaydoError
from taydo.kpi.periods import recent
from taydo.kpi.schemas import EntryIn
from taydo.kpi.service import compute, enter_value, kpi_values, list_kpis

__all__ = ["EVIDENCE", "fill"]

EVIDENCE = (
    "Số liệu minh họa của bản demo, không phải số liệu chính thức / demo figures, not official"
)
WARDS = ("31135", "31120", "31174", "31340", "31321")  # wards of the pack's stations
_DEMO = Principal(username="demo", role="admin")
_PERIODS = 12


def _series(code: str, target: float | None, unit: str, count: int) -> list[float]:
    """A plausible path: starting below the target and climbing towards it, with noise."""
    rng = random.Random(code)  # the same figures every run
    goal = target if target is not None else rng.uniform(500, 5000)
    start = goal * rng.uniform(0.45, 0.8)
    reach = goal * rng.uniform(0.85, 1.08)
    out = []
    for n in range(count):
        value = start + (reach - start) * n / max(count - 1, 1) + goal * rng.uniform(-0.03, 0.03)
        if unit == "%":
            value = min(value, 100.0)
        out.append(round(max(value, 0.0), 2))
    return out


def fill(database: Database, *, now: datetime, zone: str) -> int:
    """Enter the demo figures where nothing is entered yet, then compute; returns entries."""
    entered = 0
    for kpi in list_kpis(database):
        if kpi["source"]["kind"] != "records":
            continue
        if any(
            v["inputs"].get("entries") for v in kpi_values(database, kpi["code"], None, limit=1)
        ):
            continue  # entered before (by the demo or by someone)
        periods = recent(kpi["period"], now, zone, _PERIODS)[:-1]  # closed periods only
        by_ward = kpi["source"].get("aggregate") == "avg"
        for ward_n, area in enumerate(WARDS if by_ward else (None,)):
            values = _series(f"{kpi['code']}/{ward_n}", kpi["target"], kpi["unit"], len(periods))
            for period, value in zip(periods, values, strict=True):
                entry = EntryIn(period=period.key, area=area, value=value, evidence=EVIDENCE)
                try:
                    enter_value(database, kpi["code"], entry, _DEMO, zone=zone)
                except TaydoError:
                    continue
                entered += 1
    compute(database, now=now, zone=zone)
    return entered

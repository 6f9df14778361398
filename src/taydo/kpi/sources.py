"""Where a KPI's value comes from: a table of small declarations (``KINDS``), each a parameter
model and a function computing one period, read by the generic engine (``engine.py``).

Kinds served by other domains (incidents, citizen reports, directives, the workforce)
compute through a counting function in ``COUNTERS``. A kind whose function is ``None``
computes to grey, "source not installed": wiring it is one line in that table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from taydo.catalog.service import metric_series
from taydo.citizen import on_time_counts as citizen_on_time
from taydo.citizen import satisfaction as citizen_satisfaction
from taydo.directives.service import on_time_counts as directives_on_time
from taydo.incidents.service import on_time_counts as incidents_on_time
from taydo.observations.query import rollup_buckets
from taydo.workforce.service import team_coverage, trained_share

__all__ = [
    "COUNTERS",
    "KINDS",
    "NOT_INSTALLED",
    "Context",
    "Outcome",
    "SourceKind",
]

HOUR_MS = 3_600_000
NOT_INSTALLED = "nguồn chưa cài đặt / source not installed"
NO_DATA = "không có số liệu trong kỳ / no data in the period"


@dataclass
class Context:
    """What a computation may read: the database (one session), the period, the time up to
    which an open period counts, and the stored values of other KPIs (for ratios)."""

    session: Session
    dialect: str
    start: datetime
    end: datetime
    until: datetime  # = end for a closed period; the computation time for an open one
    period_key: str
    stored: Callable[[str, str], dict[str, float | None]]  # (kpi code, period) → area → value

    @property
    def connection(self) -> Connection:
        return self.session.connection()


@dataclass
class Outcome:
    """A city-wide value (None: grey, ``reason`` says why), its inputs, and by ward."""

    value: float | None
    reason: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    areas: dict[str, tuple[float | None, dict[str, Any]]] = field(default_factory=dict)


Params = ConfigDict(extra="forbid")


# -- observations ---------------------------------------------------------------------------
class ObservationsParams(BaseModel):
    """An aggregate over the hourly rollups of a metric's series."""

    model_config = Params

    metric: str = Field(min_length=1, max_length=80)
    entity_types: list[str] = Field(default_factory=list, max_length=20)
    dataset: str | None = Field(default=None, max_length=80)
    agg: Literal["avg", "min", "max", "sum", "count", "share", "coverage", "fraction"]
    op: Literal["le", "lt", "ge", "gt"] | None = None  # share: hour average <op> threshold
    threshold: float | None = Field(default=None, ge=-1e12, le=1e12)
    threshold_attribute: str | None = Field(default=None, max_length=120)  # e.g. alarm_levels.2
    of_metrics: list[str] = Field(default_factory=list, max_length=10)  # fraction's others
    scale: float = Field(default=1.0, ge=-1e6, le=1e6)  # 100 for a percentage
    min_coverage: float = Field(default=0.0, ge=0, le=1)  # below it: grey, too few data

    @model_validator(mode="after")
    def _complete(self) -> ObservationsParams:
        if self.agg == "share":
            if self.op is None:
                raise ValueError("a share needs op (le, lt, ge or gt)")
            if (self.threshold is None) == (self.threshold_attribute is None):
                raise ValueError("a share needs exactly one of threshold, threshold_attribute")
        elif self.op is not None or self.threshold is not None or self.threshold_attribute:
            raise ValueError("op and threshold belong to agg: share")
        if self.agg == "fraction" and not self.of_metrics:
            raise ValueError("a fraction needs of_metrics (the other parts of the whole)")
        return self


_OPS: dict[str, Callable[[float, float], bool]] = {
    "le": lambda a, b: a <= b,
    "lt": lambda a, b: a < b,
    "ge": lambda a, b: a >= b,
    "gt": lambda a, b: a > b,
}


def _attribute(attributes: dict[str, Any], path: str) -> float | None:
    found: Any = attributes
    for part in path.split("."):
        if not isinstance(found, dict) or part not in found:
            return None
        found = found[part]
    return float(found) if isinstance(found, int | float) and not isinstance(found, bool) else None


@dataclass
class _Acc:
    """Partial sums of one or more series, combined city-wide and by ward."""

    series: int = 0
    reporting: int = 0  # series with at least one bucket in the period
    buckets: int = 0
    ok: int = 0
    total: float = 0.0
    count: float = 0.0
    low: float | None = None
    high: float | None = None
    others: float = 0.0

    def add(self, other: _Acc) -> None:
        self.series += other.series
        self.reporting += other.reporting
        self.buckets += other.buckets
        self.ok += other.ok
        self.total += other.total
        self.count += other.count
        self.others += other.others
        for name, pick in (("low", min), ("high", max)):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(
                self,
                name,
                theirs if mine is None else mine if theirs is None else pick(mine, theirs),
            )


def _rows(ctx: Context, agg: str, series_id: int) -> list[tuple[int, float]]:
    params = {
        "s": series_id,
        "a": int(ctx.start.timestamp() * 1000),
        "b": int(ctx.until.timestamp() * 1000),
    }
    return rollup_buckets(ctx.connection, ctx.dialect, "observations_hourly", agg, params)


def _series_acc(
    ctx: Context, p: ObservationsParams, series_id: int, attributes: dict[str, Any]
) -> _Acc | None:
    acc = _Acc(series=1)
    if p.agg == "share":
        limit = (
            p.threshold
            if p.threshold is not None
            else _attribute(attributes, p.threshold_attribute or "")
        )
        if limit is None:
            return None  # the entity lacks the attribute: left out, counted in the inputs
        compare = _OPS[p.op or "le"]
        rows = _rows(ctx, "avg", series_id)
        acc.buckets = len(rows)
        acc.ok = sum(1 for _b, v in rows if compare(v, limit))
    elif p.agg in ("avg", "sum", "count", "fraction"):
        sums = _rows(ctx, "sum", series_id)
        counts = _rows(ctx, "count", series_id)
        acc.buckets = len(counts)
        acc.total = sum(v for _b, v in sums)
        acc.count = sum(v for _b, v in counts)
    elif p.agg in ("min", "max"):
        rows = _rows(ctx, p.agg, series_id)
        acc.buckets = len(rows)
        values = [v for _b, v in rows]
        if values:
            acc.low, acc.high = min(values), max(values)
    else:  # coverage
        acc.buckets = len(_rows(ctx, "count", series_id))
    return acc


def _obs_value(p: ObservationsParams, acc: _Acc, expected: int) -> tuple[float | None, str]:
    if acc.series == 0:
        return None, "không có chuỗi số liệu nào / no series of this metric"
    if p.agg == "coverage":
        if not expected:
            return None, NO_DATA
        return acc.buckets / expected * p.scale, ""
    if acc.buckets == 0:
        return None, NO_DATA
    if expected and acc.buckets / expected < p.min_coverage:
        return None, (
            f"số liệu không đủ ({acc.buckets}/{expected} giờ) / "
            f"too few data ({acc.buckets} of {expected} hours)"
        )
    if p.agg == "share":
        return acc.ok / acc.buckets * p.scale, ""
    if p.agg == "avg":
        return acc.total / acc.count * p.scale, ""
    if p.agg == "sum":
        return acc.total * p.scale, ""
    if p.agg == "count":
        return acc.count * p.scale, ""
    if p.agg == "fraction":
        whole = acc.total + acc.others
        if whole == 0:
            return None, "tổng bằng 0 / the whole is zero"
        return acc.total / whole * p.scale, ""
    bound = acc.low if p.agg == "min" else acc.high
    return (None if bound is None else bound * p.scale), ""


def _obs_inputs(p: ObservationsParams, acc: _Acc, expected: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "series": acc.series,
        "series_with_data": acc.reporting,
        "hours": acc.buckets,
        "expected_hours": expected,
    }
    if p.agg == "share":
        out["hours_meeting"] = acc.ok
    if p.agg in ("avg", "sum", "count", "fraction"):
        out["sum"] = round(acc.total, 9)
        out["points"] = int(acc.count)
    if p.agg == "fraction":
        out["others_sum"] = round(acc.others, 9)
    if p.agg in ("min", "max"):
        out["min"], out["max"] = acc.low, acc.high
    return out


def observations(ctx: Context, params: dict[str, Any]) -> Outcome:
    p = ObservationsParams.model_validate(params)
    found = metric_series(ctx.session, p.metric, entity_types=p.entity_types, dataset=p.dataset)
    expected = max(0, int((ctx.until - ctx.start).total_seconds() // 3600))
    city = _Acc()
    by_area: dict[str, _Acc] = {}
    skipped = []
    for s in found:
        acc = _series_acc(ctx, p, s.series_id, s.attributes)
        if acc is None:
            skipped.append(s.entity_id)
            continue
        acc.reporting = 1 if acc.buckets else 0
        city.add(acc)
        if s.area_code:
            by_area.setdefault(s.area_code, _Acc()).add(acc)
    if p.agg == "fraction":
        for name in p.of_metrics:
            for s in metric_series(
                ctx.session, name, entity_types=p.entity_types, dataset=p.dataset
            ):
                part = _Acc(total=sum(v for _b, v in _rows(ctx, "sum", s.series_id)))
                city.others += part.total
                if s.area_code:
                    by_area.setdefault(s.area_code, _Acc()).others += part.total
    value, reason = _obs_value(p, city, expected)
    inputs = _obs_inputs(p, city, expected)
    if skipped:
        inputs["without_threshold"] = skipped
    areas = {}
    for code in sorted(by_area):
        area_value, _why = _obs_value(p, by_area[code], expected * by_area[code].series)
        areas[code] = (area_value, _obs_inputs(p, by_area[code], expected))
    # Coverage is per series-hour: the city's expectation is every series' hours.
    if p.agg == "coverage":
        value, reason = _obs_value(p, city, expected * city.series)
        inputs["expected_hours"] = expected * city.series
    return Outcome(value, reason, inputs, areas)


# -- records: values entered with evidence ---------------------------------------------------
class RecordsParams(BaseModel):
    model_config = Params

    aggregate: Literal["sum", "avg"] = "sum"  # the city from the wards, when no city value


def records(ctx: Context, params: dict[str, Any]) -> Outcome:
    """Filled in by the engine from ``kpi_entries`` (it knows the KPI); see ``engine``."""
    raise NotImplementedError  # never called: the engine computes records itself


# -- ratio of two KPIs -----------------------------------------------------------------------
class RatioParams(BaseModel):
    model_config = Params

    numerator: str = Field(min_length=1, max_length=80)
    denominator: str = Field(min_length=1, max_length=80)
    scale: float = Field(default=1.0, ge=-1e6, le=1e6)


def ratio(ctx: Context, params: dict[str, Any]) -> Outcome:
    p = RatioParams.model_validate(params)
    top = ctx.stored(p.numerator, ctx.period_key)
    bottom = ctx.stored(p.denominator, ctx.period_key)
    inputs = {"numerator": top.get(""), "denominator": bottom.get("")}

    def one(a: float | None, b: float | None) -> tuple[float | None, str]:
        if a is None or b is None:
            return (
                None,
                f"thiếu giá trị của {p.numerator} hoặc {p.denominator} / an input KPI has no value",
            )
        if b == 0:
            return None, "mẫu số bằng 0 / the denominator is zero"
        return a / b * p.scale, ""

    value, reason = one(top.get(""), bottom.get(""))
    areas = {
        code: (
            one(top[code], bottom[code])[0],
            {"numerator": top[code], "denominator": bottom[code]},
        )
        for code in sorted(set(top) & set(bottom))
        if code
    }
    return Outcome(value, reason, inputs, areas)


# -- other domains' counts -------------------------------------------------------------------
class CountsParams(BaseModel):
    model_config = Params

    agency: str | None = Field(default=None, max_length=40)
    scale: float = Field(default=100.0, ge=-1e6, le=1e6)


OnTimeCounts = Callable[..., tuple[int, int]]
Satisfaction = Callable[..., tuple[float | None, int]]


def _civil_servants_trained(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    agency_code: str | None = None,
    area_code: str | None = None,
) -> tuple[int, int]:
    """(civil servants who completed a course in the period, their headcount)."""
    return trained_share(
        session, start=start, end=end, group="civil_servants", agency_code=agency_code
    )


def _community_teams(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    agency_code: str | None = None,
    area_code: str | None = None,
) -> tuple[int, int]:
    """(community digital technology teams established by the period's end, 1): with
    ``scale: 1`` the KPI's value is the number of teams."""
    return team_coverage(session, at=end, area_code=area_code).teams, 1


# One line per kind; ``None`` while the domain is not installed (its KPIs are grey).
COUNTERS: dict[str, OnTimeCounts | Satisfaction | None] = {
    "incidents.on_time": incidents_on_time,
    "citizen.on_time": citizen_on_time,
    "citizen.satisfaction": citizen_satisfaction,
    "directives.on_time": directives_on_time,
    "workforce.trained": _civil_servants_trained,
    "workforce.community_teams": _community_teams,
}


def _counted(kind: str) -> Callable[[Context, dict[str, Any]], Outcome]:
    def compute(ctx: Context, params: dict[str, Any]) -> Outcome:
        p = CountsParams.model_validate(params)
        counter = COUNTERS.get(kind)
        if counter is None:
            return Outcome(None, NOT_INSTALLED, {"source": kind})
        found = counter(ctx.session, start=ctx.start, end=ctx.until, agency_code=p.agency)
        if kind.endswith("satisfaction"):
            mean, n = found
            return Outcome(mean, "" if mean is not None else NO_DATA, {"mean": mean, "ratings": n})
        done, total = found
        if not total or done is None:
            return Outcome(None, NO_DATA, {"on_time": done, "total": total})
        return Outcome(done / total * p.scale, "", {"on_time": done, "total": total})

    return compute


@dataclass(frozen=True)
class SourceKind:
    code: str
    label: str
    label_en: str
    params: type[BaseModel]
    compute: Callable[[Context, dict[str, Any]], Outcome]
    order: int = 0  # kinds reading other KPIs' values run after the others


KINDS: dict[str, SourceKind] = {
    k.code: k
    for k in (
        SourceKind(
            "observations",
            "Tổng hợp số liệu quan trắc",
            "Aggregate over observations",
            ObservationsParams,
            observations,
        ),
        SourceKind(
            "records",
            "Số liệu nhập có minh chứng",
            "Values entered with evidence",
            RecordsParams,
            records,
        ),
        SourceKind(
            "ratio", "Tỷ số của hai chỉ số", "Ratio of two KPIs", RatioParams, ratio, order=1
        ),
        *(
            SourceKind(code, label, label_en, CountsParams, _counted(code))
            for code, label, label_en in (
                ("incidents.on_time", "Sự cố xử lý đúng hạn", "Incidents handled on time"),
                (
                    "citizen.on_time",
                    "Phản ánh giải quyết đúng hạn",
                    "Citizen reports resolved on time",
                ),
                ("citizen.satisfaction", "Mức hài lòng của người dân", "Citizen satisfaction"),
                ("directives.on_time", "Chỉ đạo hoàn thành đúng hạn", "Directives done on time"),
                ("workforce.trained", "Nhân lực số được đào tạo", "Digital workforce trained"),
                (
                    "workforce.community_teams",
                    "Tổ công nghệ số cộng đồng",
                    "Community digital teams",
                ),
            )
        ),
    )
}

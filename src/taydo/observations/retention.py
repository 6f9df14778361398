"""Retention and downsampling: how long each tier of each dataset's points is kept.

A policy gives, per tier, a number of days (or forever):

* ``raw``: the points themselves (raw rows and packed hours), e.g. 2 years of 1-minute data;
* ``hourly``: the hourly rollups (count, sum, min, max, last of each hour), e.g. 10 years;
* ``daily``: the daily rollups, e.g. forever.

Downsampling is what the rollups already are: they are kept up to date as points arrive, so
once a dataset's raw points expire its charts at ``bucket=1h`` and ``1d`` still answer, from
the rollups, for as long as those are kept. Hence a policy must keep raw ≤ hourly ≤ daily.

Policies are data (table ``observations_retention``): one per dataset code, and ``*`` for
every series whose dataset has none. No policy at all means everything is kept forever.

``apply_retention`` removes what expired. On PostgreSQL it first **drops whole partitions**
(``taydo.observations.partitions``) that lie wholly before the cutoff of every series — the
usual case when most datasets share a policy — and then deletes, series by series, what
expired earlier for datasets kept shorter than others. SQLite has no partitions: it deletes.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any

from taydo.core.errors import Invalid
from taydo.observations.buckets import DAY_MS, HOUR_MS
from taydo.observations.partitions import DAILY, HOURLY, PACKED, RAW, Scheme, existing

__all__ = [
    "DEFAULT_SCOPE",
    "MAX_DAYS",
    "TIERS",
    "Policy",
    "RetentionRun",
    "apply_retention",
    "parse_days",
    "show_days",
]

log = logging.getLogger(__name__)

DEFAULT_SCOPE = "*"
TIERS: dict[str, tuple[Scheme, ...]] = {
    "raw": (RAW, PACKED),
    "hourly": (HOURLY,),
    "daily": (DAILY,),
}
_YEAR_DAYS = 365
MAX_DAYS = 100 * _YEAR_DAYS
"""The longest period a tier may keep, short of forever: a century."""
_SERIES_PER_DELETE = 1000
_FOREVER = ("forever", "vĩnh viễn")


def parse_days(value: str | int | None) -> int | None:
    """``730``, ``"90d"``, ``"2y"`` (365 days a year) → days; ``"forever"`` or None → None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise Invalid(f"thời hạn lưu không hợp lệ / bad retention period {value!r}")
    if isinstance(value, int):
        days = value
    else:
        text = value.strip().lower()
        if text in _FOREVER:
            return None
        found = re.fullmatch(r"(\d{1,5})\s*([dy]?)", text)
        if found is None:
            raise Invalid(
                f"thời hạn lưu không hợp lệ / bad retention period {value!r}: "
                "give days (90, 90d), years (2y) or forever"
            )
        days = int(found.group(1)) * (_YEAR_DAYS if found.group(2) == "y" else 1)
    if not 1 <= days <= MAX_DAYS:
        raise Invalid(
            f"thời hạn lưu phải từ 1 ngày đến 100 năm / a retention period must be "
            f"1 day to 100 years, not {days} days"
        )
    return days


def show_days(days: int | None) -> str:
    if days is None:
        return "forever"
    if days % _YEAR_DAYS == 0:
        return f"{days // _YEAR_DAYS}y"
    return f"{days}d"


@dataclass(frozen=True)
class Policy:
    """Days kept per tier; None is forever."""

    raw: int | None = None
    hourly: int | None = None
    daily: int | None = None

    def __post_init__(self) -> None:
        order = [(_longest(self.raw), "raw"), (_longest(self.hourly), "hourly")]
        order.append((_longest(self.daily), "daily"))
        for (shorter, a), (longer, b) in pairwise(order):
            if shorter > longer:
                raise Invalid(
                    f"{a} phải giữ không lâu hơn {b} / {a} must not be kept longer than {b} "
                    "(the charts of expired points are answered from the rollups)"
                )

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Policy:
        unknown = set(data) - {"raw", "hourly", "daily"}
        if unknown:
            raise Invalid(f"khóa không hợp lệ / unknown keys {sorted(unknown)}: raw, hourly, daily")
        return cls(**{tier: parse_days(data.get(tier)) for tier in ("raw", "hourly", "daily")})

    def shown(self) -> dict[str, str]:
        return {tier: show_days(days) for tier, days in asdict(self).items()}


def _longest(days: int | None) -> float:
    return float("inf") if days is None else float(days)


@dataclass
class RetentionRun:
    """What one run removed."""

    dropped: list[str] = field(default_factory=list)  # PostgreSQL partitions dropped whole
    deleted: dict[str, int] = field(default_factory=dict)  # table → rows deleted

    @property
    def rows_deleted(self) -> int:
        return sum(self.deleted.values())


_POLICIES = "SELECT scope, raw_days, hourly_days, daily_days FROM observations_retention"
# Every series and the code of its entity's dataset (NULL: none). A read of catalog tables,
# like the latest-values query; the catalog owns them.
_SERIES = (
    "SELECT m.id, d.code FROM metrics m JOIN entities e ON e.id = m.entity_pk "
    "LEFT JOIN datasets d ON d.id = e.dataset_id"
)


def apply_retention(
    connection: Any,
    dialect: str,
    now_ms: int,
    *,
    stopping: Callable[[], bool] = lambda: False,
) -> RetentionRun:
    """Remove every point and rollup past its dataset's retention at ``now_ms``.
    ``connection`` is a DB-API connection (sqlite3 or psycopg) not in a transaction; every
    removal commits on its own, so a stop (``stopping``, asked between them) or a failure
    leaves the rest for the next run."""
    run = RetentionRun()
    try:
        policies = {
            scope: Policy(raw, hourly, daily)
            for scope, raw, hourly, daily in connection.execute(_POLICIES).fetchall()
        }
        series = connection.execute(_SERIES).fetchall() if policies else []
    finally:
        connection.rollback()
    if not series:
        return run
    for tier, schemes in TIERS.items():
        cutoffs = _cutoffs(policies, series, tier, now_ms)
        if not cutoffs:
            continue
        floor = None if None in cutoffs else min(c for c in cutoffs if c is not None)
        for scheme in schemes:
            if stopping():
                return run
            if dialect == "postgresql":
                _drop_expired(connection, scheme, floor, run)
            _delete_expired(connection, dialect, scheme, cutoffs, run, stopping)
    return run


def _cutoffs(
    policies: dict[str, Policy], series: list[Any], tier: str, now_ms: int
) -> dict[int | None, list[int]]:
    """Cutoff (epoch ms, a whole hour; None: kept forever) → the series it applies to."""
    default = policies.get(DEFAULT_SCOPE)
    out: dict[int | None, list[int]] = defaultdict(list)
    for series_id, dataset in series:
        policy = policies.get(dataset) if dataset is not None else None
        days = getattr(policy or default or Policy(), tier)
        cutoff = None if days is None else now_ms - days * DAY_MS
        if cutoff is not None:
            cutoff -= cutoff % HOUR_MS
        out[cutoff].append(int(series_id))
    return dict(out)


def _drop_expired(connection: Any, scheme: Scheme, floor: int | None, run: RetentionRun) -> None:
    """DROP the partitions of ``scheme`` that end before every series' cutoff. A lock not
    granted within 2 s (a long reader of that month) leaves it for the next run."""
    if floor is None:
        return
    for name, _start, end in existing(connection, scheme):
        if end > floor:
            break
        try:
            connection.execute("SET LOCAL lock_timeout = '2s'")
            connection.execute(f'DROP TABLE "{name}"')
            connection.commit()
            run.dropped.append(name)
        except Exception:
            connection.rollback()
            log.warning("partition %s not dropped this time (locked or failed)", name)


def _delete_expired(
    connection: Any,
    dialect: str,
    scheme: Scheme,
    cutoffs: dict[int | None, list[int]],
    run: RetentionRun,
    stopping: Callable[[], bool],
) -> None:
    """DELETE the rows of ``scheme``'s table older than their series' cutoff, a block of
    series (and on PostgreSQL a partition) per transaction."""
    targets: list[tuple[str, int | None]] = [(scheme.table, None)]
    if dialect == "postgresql":
        targets = [(name, start) for name, start, _end in existing(connection, scheme)]
    column = scheme.column
    for cutoff, series in sorted(cutoffs.items(), key=lambda item: item[0] or 0):
        if cutoff is None:
            continue
        for table, start in targets:
            if start is not None and start >= cutoff:
                continue  # a partition that begins after the cutoff holds nothing expired
            for offset in range(0, len(series), _SERIES_PER_DELETE):
                if stopping():
                    return
                block = series[offset : offset + _SERIES_PER_DELETE]
                if dialect == "postgresql":
                    sql = f'DELETE FROM "{table}" WHERE series_id = ANY(%s) AND {column} < %s'  # noqa: S608 — our table and column names
                    params: tuple[Any, ...] = (block, cutoff)
                else:
                    marks = ", ".join("?" * len(block))
                    sql = f"DELETE FROM {table} WHERE series_id IN ({marks}) AND {column} < ?"  # noqa: S608 — placeholders only
                    params = (*block, cutoff)
                try:
                    if dialect == "sqlite":
                        connection.execute("BEGIN IMMEDIATE")
                    count = connection.execute(sql, params).rowcount
                    connection.commit()
                except BaseException:
                    connection.rollback()
                    raise
                if count and count > 0:
                    run.deleted[scheme.table] = run.deleted.get(scheme.table, 0) + count

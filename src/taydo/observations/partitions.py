"""PostgreSQL time partitions of the observation tables, created on demand and dropped whole.

Every table whose rows pile up with time is range-partitioned by its time column, so that
old data leaves by ``DROP TABLE`` of a partition (instant, and the space goes back to the
operating system) instead of a ``DELETE`` of billions of rows whose space a closed month
would never reuse:

=========================  ===========  ========================  ==========================
table                      time column  partition                 one partition holds
=========================  ===========  ========================  ==========================
``observations``           ``ts``       ``observations_pYYYYMM``  a UTC month of raw points
``observations_packed``    ``hour``     ``observations_packed_``  a UTC month of packed hours
                                        ``pYYYYMM``
``observations_hourly``    ``bucket``   ``observations_hourly_``  a UTC month of hourly
                                        ``pYYYYMM``               rollups
``observations_daily``     ``bucket``   ``observations_daily_``   a UTC year of daily
                                        ``pYYYY``                 rollups
=========================  ===========  ========================  ==========================

A partition is created by the first write that needs it, in its own short transaction. A
process remembers the partitions it created; when another process (or a retention run)
dropped one since, the insert fails with "no partition found" and the caller forgets what it
remembered and tries once more (``missing_partition``). SQLite keeps single tables.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "DAILY",
    "HOURLY",
    "PACKED",
    "RAW",
    "SCHEMES",
    "Partitions",
    "Scheme",
    "existing",
    "missing_partition",
]


@dataclass(frozen=True)
class Scheme:
    """How one table is partitioned: ``months`` per partition (1 or 12)."""

    table: str
    column: str
    months: int

    @property
    def prefix(self) -> str:
        return f"{self.table}_p"

    def bounds(self, ms: int) -> tuple[str, int, int]:
        """(partition name, first ms, end ms) of the partition holding the instant ``ms``."""
        moment = datetime.fromtimestamp(ms / 1000, UTC)
        if self.months == 12:
            first = datetime(moment.year, 1, 1, tzinfo=UTC)
            following = datetime(moment.year + 1, 1, 1, tzinfo=UTC)
            name = f"{self.prefix}{first.year:04d}"
        else:
            first = datetime(moment.year, moment.month, 1, tzinfo=UTC)
            following = (
                datetime(first.year + 1, 1, 1, tzinfo=UTC)
                if first.month == 12
                else datetime(first.year, first.month + 1, 1, tzinfo=UTC)
            )
            name = f"{self.prefix}{first.year:04d}{first.month:02d}"
        return name, _ms(first), _ms(following)

    def span_of(self, name: str) -> tuple[int, int] | None:
        """(first ms, end ms) of a partition named by this scheme, or None."""
        digits = 4 if self.months == 12 else 6
        found = re.fullmatch(rf"{re.escape(self.prefix)}(\d{{{digits}}})", name)
        if found is None:
            return None
        text = found.group(1)
        year, month = int(text[:4]), (int(text[4:]) if digits == 6 else 1)
        if not 1 <= month <= 12:
            return None
        _name, start, end = self.bounds(_ms(datetime(year, month, 1, tzinfo=UTC)))
        return start, end


RAW = Scheme("observations", "ts", 1)
PACKED = Scheme("observations_packed", "hour", 1)
HOURLY = Scheme("observations_hourly", "bucket", 1)
DAILY = Scheme("observations_daily", "bucket", 12)
SCHEMES = (RAW, PACKED, HOURLY, DAILY)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def missing_partition(error: BaseException) -> bool:
    """Whether ``error`` is PostgreSQL's "no partition of relation … found for row"."""
    return getattr(error, "sqlstate", None) == "23514" and "no partition" in str(error)


_EXISTING = (
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = to_regclass(%s)"
)


def existing(connection: Any, scheme: Scheme) -> list[tuple[str, int, int]]:
    """(name, first ms, end ms) of the partitions of ``scheme``'s table, oldest first (ends
    the read transaction it opens)."""
    try:
        names = [row[0] for row in connection.execute(_EXISTING, (scheme.table,)).fetchall()]
    finally:
        connection.rollback()
    out = []
    for name in names:
        span = scheme.span_of(name)
        if span is not None:
            out.append((name, *span))
    return sorted(out, key=lambda p: p[1])


class Partitions:
    """The partitions this process knows exist (one per ``Store``, shared by its threads)."""

    def __init__(self) -> None:
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def forget(self) -> None:
        with self._lock:
            self._known.clear()

    def ensure(self, connection: Any, scheme: Scheme, stamps: Iterable[int]) -> None:
        """Create the partitions of ``scheme`` holding ``stamps`` that may not exist yet.
        Call it outside any transaction of the caller: each creation commits on its own,
        so the parent's lock is not held during the caller's batch."""
        wanted = {scheme.bounds(ms) for ms in _distinct_days(stamps)}
        missing = [bounds for bounds in wanted if bounds[0] not in self._known]
        if not missing:
            return
        with self._lock:
            for name, start, end in sorted(missing):
                # A concurrent creator makes IF NOT EXISTS a no-op, or an error we retry.
                for attempt in range(3):
                    try:
                        connection.execute(
                            f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF {scheme.table} '
                            f"FOR VALUES FROM ({start}) TO ({end})"
                        )
                        connection.commit()
                        break
                    except Exception:
                        connection.rollback()
                        if attempt == 2:
                            raise
                self._known.add(name)


def _distinct_days(stamps: Iterable[int]) -> set[int]:
    """One instant per distinct UTC day of ``stamps`` (a month is made of days; a batch of
    thousands of points spans a few days at most, so this keeps ``bounds`` calls few)."""
    return {ms // 86_400_000 * 86_400_000 for ms in stamps}

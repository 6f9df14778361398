"""The time-series tables: raw observations, hourly and daily rollups, latest values.

Rows are deliberately compact: a series id (``metrics.id``), a timestamp in epoch milliseconds
UTC, a double and a small quality code. There is no foreign key from observations to metrics:
the writer resolves every series through the series index before writing, and a per-row
foreign-key probe would cost the hot path a lookup for nothing. Rollup buckets are the epoch
milliseconds (UTC) of the bucket's start in the display time zone, so a daily bucket of
Asia/Ho_Chi_Minh starts at 17:00 UTC of the previous day.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Integer, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from taydo.core.db import Base, BigIntPK

__all__ = [
    "DailyRollup",
    "HourlyRollup",
    "Latest",
    "Observation",
    "PackedHour",
    "RetentionPolicy",
    "Unfolded",
    "Watermark",
]


class Observation(Base):
    """One value of one series at one instant. On PostgreSQL the table is range-partitioned
    by ``ts`` (one partition per UTC month, created on demand by the writer)."""

    __tablename__ = "observations"
    __table_args__ = ({"sqlite_with_rowid": False},)

    series_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    value: Mapped[float] = mapped_column(Float)
    quality: Mapped[int] = mapped_column(SmallInteger, default=0)


class _Rollup:
    series_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer)
    sum: Mapped[float] = mapped_column(Float)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    last_ts: Mapped[int] = mapped_column(BigInteger)
    last_value: Mapped[float] = mapped_column(Float)


class HourlyRollup(_Rollup, Base):
    __tablename__ = "observations_hourly"
    __table_args__ = ({"sqlite_with_rowid": False},)


class DailyRollup(_Rollup, Base):
    __tablename__ = "observations_daily"
    __table_args__ = ({"sqlite_with_rowid": False},)


class Latest(Base):
    """The newest value of each series; only a newer point moves it."""

    __tablename__ = "observations_latest"

    series_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float] = mapped_column(Float)
    quality: Mapped[int] = mapped_column(SmallInteger, default=0)


class Unfolded(Base):
    """Rollup deltas of committed points not yet applied to the rollups and latest values:
    one row per transaction of the group-commit writer (see ``store.Store.flush``)."""

    __tablename__ = "observations_unfolded"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    deltas: Mapped[bytes] = mapped_column(LargeBinary)


class PackedHour(Base):
    """The points of one series in one closed UTC hour, moved out of ``observations`` by a
    compaction (see ``taydo.observations.packed``): ``ts`` holds int32 millisecond offsets
    from ``hour``, ``vals`` doubles, ``qualities`` int16 (NULL when every quality is 0), all
    little-endian and in time order."""

    __tablename__ = "observations_packed"

    series_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer)
    ts: Mapped[bytes] = mapped_column(LargeBinary)
    vals: Mapped[bytes] = mapped_column(LargeBinary)
    qualities: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class Watermark(Base):
    """One row: ``packed_before`` (epoch ms, a whole UTC hour). Writes of points below it
    are checked against the packed hours, so re-sending a packed point stays a duplicate."""

    __tablename__ = "observations_watermark"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    packed_before: Mapped[int] = mapped_column(BigInteger)


class RetentionPolicy(Base):
    """How long the points of one dataset are kept, per tier, in days (None: forever).
    ``scope`` is a dataset code, or ``*`` for every series without a policy of its own
    (see ``taydo.observations.retention``)."""

    __tablename__ = "observations_retention"

    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    raw_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hourly_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    daily_days: Mapped[int | None] = mapped_column(Integer, nullable=True)

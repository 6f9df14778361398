"""KPI definitions, their computed values and entered values; DTI frameworks and results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from taydo.core.db import Base, BigIntPK, UTCDateTime

CITY = ""  # area_code of a city-wide value (an empty code, so the unique keys hold on both DBs)


class KpiSector(Base):
    """A priority sector (configurable: a pack or an administrator lists them)."""

    __tablename__ = "kpi_sectors"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class Kpi(Base):
    """One KPI: what it measures, its target and thresholds, and its source (a declaration
    read by generic code, never an expression to evaluate)."""

    __tablename__ = "kpis"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    pillar: Mapped[str] = mapped_column(String(32), index=True)
    sector: Mapped[str | None] = mapped_column(String(60), nullable=True)
    unit: Mapped[str] = mapped_column(String(32), default="")
    direction: Mapped[str] = mapped_column(String(8))  # higher | lower
    period: Mapped[str] = mapped_column(String(8))  # day | week | month | quarter | year
    target: Mapped[float | None] = mapped_column(Float, nullable=True)
    warn: Mapped[float | None] = mapped_column(Float, nullable=True)  # amber boundary
    target_source: Mapped[str] = mapped_column(Text, default="")
    # a starting value proposed by the pack, not yet confirmed by the city
    target_proposed: Mapped[bool] = mapped_column(Boolean, default=False)
    agency_code: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    source_kind: Mapped[str] = mapped_column(String(40))
    source: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)  # the formula version
    origin: Mapped[str] = mapped_column(String(80), default="api")  # pack:<name> | api
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class KpiValue(Base):
    """The value of a KPI for one period (city-wide or one ward) and what it came from."""

    __tablename__ = "kpi_values"
    __table_args__ = (
        UniqueConstraint("kpi_id", "period_key", "area_code", name="uq_kpi_values_key"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpis.id", ondelete="CASCADE"))
    period_key: Mapped[str] = mapped_column(String(16))  # 2026-11, 2026-Q4, 2026-W45 …
    period_start: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    area_code: Mapped[str] = mapped_column(String(16), default=CITY)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(8))  # green | amber | red | grey
    reason: Mapped[str] = mapped_column(Text, default="")  # why grey (vi / en)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    formula_version: Mapped[int] = mapped_column(Integer)
    closed: Mapped[bool] = mapped_column(default=False)  # the period had ended when computed
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class KpiEntry(Base):
    """A value an officer entered for a KPI's period (and ward), with its evidence."""

    __tablename__ = "kpi_entries"
    __table_args__ = (
        UniqueConstraint("kpi_id", "period_key", "area_code", name="uq_kpi_entries_key"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpis.id", ondelete="CASCADE"))
    period_key: Mapped[str] = mapped_column(String(16))
    area_code: Mapped[str] = mapped_column(String(16), default=CITY)
    value: Mapped[float] = mapped_column(Float)
    evidence: Mapped[str] = mapped_column(Text)
    entered_by: Mapped[str] = mapped_column(String(120))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DtiFramework(Base):
    """A DTI framework: groups → main indices → components with their maximum points."""

    __tablename__ = "dti_frameworks"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    source: Mapped[str] = mapped_column(Text, default="")
    structure: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    origin: Mapped[str] = mapped_column(String(80), default="api")


class DtiResult(Base):
    """A province's score (0–1) on one index of a framework in one year, with its source."""

    __tablename__ = "dti_results"
    __table_args__ = (
        UniqueConstraint("framework", "province", "year", "index_code", name="uq_dti_results_key"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    framework: Mapped[str] = mapped_column(String(40), index=True)
    province: Mapped[str] = mapped_column(String(40))  # a unit code, e.g. cantho, soctrang
    year: Mapped[int] = mapped_column(Integer)
    index_code: Mapped[str] = mapped_column(String(60))  # "" for the total
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rank_of: Mapped[int | None] = mapped_column(Integer, nullable=True)
    evidence: Mapped[str] = mapped_column(Text, default="")
    entered_by: Mapped[str] = mapped_column(String(120), default="")
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # "entered" (a published or assessed value, with evidence) or "computed" (the IOC's
    # estimate from KPIs; ``inputs`` holds each KPI's period, value and score).
    method: Mapped[str] = mapped_column(String(10), default="entered")
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DtiMerger(Base):
    """A province formed by merging others in ``year``: its baseline for the years before is
    the average of its parts."""

    __tablename__ = "dti_mergers"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    province: Mapped[str] = mapped_column(String(40), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    parts: Mapped[list[str]] = mapped_column(JSON, default=list)

"""Agencies, datasets, entities and their metrics (a metric of an entity is a series)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import false

from taydo.core.db import Base, BigIntPK, UTCDateTime
from taydo.geo import models as _geo_models  # noqa: F401 - areas table for the foreign keys


class Agency(Base):
    """A sở, ban, ngành or UBND phường/xã that owns data."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # e.g. "SNNMT"
    name: Mapped[str] = mapped_column(String(200))  # Vietnamese, with diacritics
    name_en: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(32))  # so | ban | nganh | ubnd | dai | cong_an | …
    area_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"), nullable=True)


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    pillar: Mapped[str] = mapped_column(String(32))  # government | economy | society
    sector: Mapped[str] = mapped_column(String(40))  # health, transport, environment, …
    description: Mapped[str] = mapped_column(Text, default="")
    update_interval_s: Mapped[int] = mapped_column(Integer)  # expected interval between values
    licence: Mapped[str] = mapped_column(String(80), default="")


class Entity(Base):
    """A thing the IOC watches: a station, a sensor, an intersection, a service desk."""

    __tablename__ = "entities"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    entity_id: Mapped[str] = mapped_column(String(255), unique=True)  # urn:ngsi-ld:<Type>:<id>
    type: Mapped[str] = mapped_column(String(80), index=True)  # Smart Data Models name
    name: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), nullable=True)
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"), nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    area_code: Mapped[str | None] = mapped_column(
        ForeignKey("areas.code"), nullable=True, index=True
    )
    # True when a user or a pack set the area; otherwise it follows the location
    # (point-in-area), and is recomputed when boundaries are imported.
    area_explicit: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Metric(Base):
    """One measured quantity of one entity; its id is the series id of its observations."""

    __tablename__ = "metrics"
    __table_args__ = (UniqueConstraint("entity_pk", "name", name="uq_metrics_entity_pk_name"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    entity_pk: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))  # e.g. waterLevel, salinity, pm25
    unit: Mapped[str] = mapped_column(String(32), default="")  # UN/CEFACT code or symbol
    # Values outside [min_valid, max_valid] are rejected as physically impossible.
    min_valid: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_valid: Mapped[float | None] = mapped_column(Float, nullable=True)

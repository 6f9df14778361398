"""Citizen field reports (Open311 service requests), the service catalogue, the routing table
and the API keys of registered apps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from taydo.core.db import Base, BigIntPK, UTCDateTime


class CitizenService(Base):
    """One Open311 service (a category a citizen reports under), loaded from a pack."""

    __tablename__ = "citizen_services"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    group: Mapped[str] = mapped_column(String(80), default="")
    keywords: Mapped[str] = mapped_column(String(400), default="")
    sla_hours: Mapped[float] = mapped_column(Float, default=72.0)
    attributes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)


class CitizenRoute(Base):
    """A row of the routing table: (service, area) → agency; NULL matches any (a fallback)."""

    __tablename__ = "citizen_routes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    service_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    area_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    agency_code: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(80), default="api")


class CitizenApiKey(Base):
    """An app registered to post reports; only the key's SHA-256 is stored."""

    __tablename__ = "citizen_api_keys"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(80))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CitizenReport(Base):
    """One field report (phản ánh hiện trường): an Open311 service request."""

    __tablename__ = "citizen_reports"
    __table_args__ = (
        # Duplicate suggestions and the Open311 list read by (service, time).
        Index("ix_citizen_reports_service_requested", "service_code", "requested_at"),
        # The queue and Open311's ``status=`` filter, newest first, without sorting them all.
        Index("ix_citizen_reports_status_requested", "status", "requested_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    token: Mapped[str] = mapped_column(String(40), unique=True)
    service_code: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(400), default="")
    area_code: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    agency_code: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    # open → acknowledged → in_progress → closed (reopen: back to open)
    status: Mapped[str] = mapped_column(String(16))
    status_notes: Mapped[str] = mapped_column(Text, default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Private: never shown publicly, never on the bus.
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    photo: Mapped[str | None] = mapped_column(String(200), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    duplicate_of: Mapped[int | None] = mapped_column(
        ForeignKey("citizen_reports.id", ondelete="SET NULL"), nullable=True
    )
    incident_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    api_key_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)

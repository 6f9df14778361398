"""Tables of the file gateway (uploads, column mappings) and of the pull connectors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from taydo.catalog import models as _catalog_models  # noqa: F401 - datasets for the keys
from taydo.core.db import Base, BigIntPK, UTCDateTime

__all__ = ["ColumnMapping", "Connector", "Upload"]


class ColumnMapping(Base):
    """How one dataset's agency files are read: header → ts | entity | <metric>, and options."""

    __tablename__ = "ingest_column_mappings"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(80))


class Upload(Base):
    """One imported file and its per-row validation report."""

    __tablename__ = "ingest_uploads"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    mode: Mapped[str] = mapped_column(String(20))  # all_or_nothing | accept_valid
    status: Mapped[str] = mapped_column(String(20))  # stored | partial | rejected
    encoding: Mapped[str] = mapped_column(String(60))
    rows_total: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)
    values_stored: Mapped[int] = mapped_column(Integer)  # new values
    # valid values already stored for the same series and time (the store keeps the first)
    values_duplicate: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    report: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # only rows with problems
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(80))


class Connector(Base):
    """A pull connector instance: its kind, parameters, schedule and status."""

    __tablename__ = "ingest_connectors"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(40))  # http_json | sql | a plugin's kind
    agency_code: Mapped[str] = mapped_column(String(40))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Sealed (taydo.core.secrets: encrypted with a key derived from TAYDO_SECRET_KEY), never
    # returned by the API or written to logs; the API shows only whether one is set.
    secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    interval_s: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    watermark: Mapped[str | None] = mapped_column(String(200), nullable=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    rows_ingested: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

"""NGSI-LD resources kept beside the catalog: context source registrations and the
subscriptions to them (stored and validated; nothing is forwarded)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from taydo.core.db import Base, BigIntPK, UTCDateTime

__all__ = ["SourceResource"]


class SourceResource(Base):
    """A ``ContextSourceRegistration`` (kind ``registration``) or a subscription to them
    (kind ``subscription``), as the client sent it (validated), with the context it came in."""

    __tablename__ = "ngsild_sources"
    __table_args__ = (UniqueConstraint("kind", "resource_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    resource_id: Mapped[str] = mapped_column(String(255))
    agency_code: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    context: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

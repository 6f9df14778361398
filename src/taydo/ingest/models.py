"""The quarantine: input that a gateway rejected, kept with its reason for review or replay."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from taydo.core.db import Base, BigIntPK, UTCDateTime

__all__ = ["QUARANTINE_STATUSES", "QuarantineEntry"]
QUARANTINE_STATUSES = ("pending", "replayed", "discarded")


class QuarantineEntry(Base):
    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(40), index=True)  # http, mqtt, ngsi-ld, file, …
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)  # the rejected item as received (JSON text if any)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # The agency the input belongs to when known, so its officers can review it.
    agency_code: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)

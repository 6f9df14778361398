"""The NGSI-LD subscriptions: what the client sent, who owns it, and its delivery record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from taydo.core.db import Base, BigIntPK, UTCDateTime


class Subscription(Base):
    """One subscription. ``document`` is the client's subscription without the system's fields
    (and without ``receiverInfo``, which is kept sealed in ``receiver_sealed``: it often holds
    the receiver's credentials); ``context`` is the JSON-LD context its terms are written in."""

    __tablename__ = "ngsild_subscriptions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    sub_id: Mapped[str] = mapped_column(String(255), unique=True)
    owner: Mapped[str] = mapped_column(String(80), index=True)
    owner_role: Mapped[str] = mapped_column(String(24))
    owner_agencies: Mapped[list[str]] = mapped_column(JSON)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    context: Mapped[Any] = mapped_column(JSON, nullable=True)
    receiver_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    throttling: Mapped[float] = mapped_column(Float, default=0.0)
    # When the newest notification was queued: throttling counts from it (in the database,
    # so every process of a cluster keeps the same pace).
    last_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    times_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_notification: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_success: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_failure: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime())

"""NGSI-LD resources kept beside the catalog: context source registrations and the
subscriptions to them (stored and validated; nothing is forwarded)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from taydo.core.db import Base, BigIntPK, UTCDateTime

__all__ = ["EntityType", "SourceResource"]


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


class EntityType(Base):
    """A type of a multi-typed entity after its first (the first is the catalog's
    ``entities.type``): the index a query by type looks the others up in (§4.16). Keyed by
    the entity's id, not its row: a stale row (an entity deleted outside NGSI-LD) only makes
    a query read one entity more, which the query's own type check then drops."""

    __tablename__ = "ngsild_entity_types"

    entity_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)

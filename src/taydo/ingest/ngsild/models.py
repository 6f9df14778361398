"""NGSI-LD resources kept beside the catalog: context source registrations and the
subscriptions to them (stored and validated; nothing is forwarded), the other types of
multi-typed entities, and the history of non-numeric attribute values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from taydo.core.db import Base, BigIntPK, UTCDateTime

__all__ = ["AttributeInstance", "EntityType", "SourceResource"]


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


class AttributeInstance(Base):
    """One stored instance of a non-numeric attribute (text, boolean, JSON, GeoProperty,
    Relationship, LanguageProperty … and numbers observed at no time): the temporal history
    the observation store (numbers only) cannot keep. ``ts`` is the instance's
    ``observedAt``, or when it was written (``observed`` false); ``attr`` the instance as
    NGSI-LD normalized JSON, names in the entity's context. Keyed by the entity's id, not
    its row: the history outlives the entity (``DELETE /temporal/entities/{id}`` removes
    it)."""

    __tablename__ = "ngsild_attribute_instances"
    __table_args__ = (Index("ix_ngsild_attribute_instances_key", "entity_id", "name", "ts"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    entity_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    dataset_id: Mapped[str] = mapped_column(String(255), default="")  # "": the default one
    ts: Mapped[int] = mapped_column(BigInteger)
    observed: Mapped[bool] = mapped_column(default=True)
    attr: Mapped[dict[str, Any]] = mapped_column(JSON)

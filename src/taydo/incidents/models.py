"""Incidents, their SOP steps, links, notes, and the data that drives them (SOPs, SLA,
correlation rules, the citizen reports heard on the bus)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    insert,
    update,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column, object_session

from taydo.core.db import Base, BigIntPK, UTCDateTime


class Incident(Base):
    """One incident: something that needs coordinated work until it is resolved and closed."""

    __tablename__ = "incidents"
    __table_args__ = (
        # The board's columns: one status, newest first, the first n. Without it PostgreSQL
        # reads every incident of the status (20,000 resolved in a year) and sorts them.
        Index("ix_incidents_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(60), index=True)
    title: Mapped[str] = mapped_column(String(400))
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    area_code: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    agency_code: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    # "user:<name>" and "agency:<code>" entries
    assignees: Mapped[list[str]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # "<correlation rule>|<area>" while a correlated incident is open, NULL otherwise: the
    # unique constraint makes a second open incident of the same rule and ward impossible,
    # whichever process of a cluster hears the signal first.
    open_key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    correlation: Mapped[str | None] = mapped_column(String(80), nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)


class IncidentStep(Base):
    """One step of the SOP instantiated on an incident."""

    __tablename__ = "incident_steps"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(400))
    title_en: Mapped[str] = mapped_column(String(400), default="")
    role: Mapped[str | None] = mapped_column(String(40), nullable=True)
    agency_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | done
    done_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    warned: Mapped[bool] = mapped_column(Boolean, default=False)  # "due soon" sent
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)


class IncidentLink(Base):
    """A link from an incident to an alert, a citizen report or an entity (with a snapshot)."""

    __tablename__ = "incident_links"
    __table_args__ = (UniqueConstraint("kind", "ref", "incident_id", name="uq_incident_links"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(12))  # alert | report | entity
    ref: Mapped[str] = mapped_column(String(255))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(80))


class IncidentNote(Base):
    """A comment, an internal note, an attachment by reference (a link) or an uploaded file."""

    __tablename__ = "incident_notes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    author: Mapped[str] = mapped_column(String(80))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text, default="")
    attachment_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    attachment_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    # An uploaded file (taydo.core.files): its name under incidents_files_dir, never the bytes.
    file_stored: Mapped[str | None] = mapped_column(String(200), nullable=True)
    file_media_type: Mapped[str | None] = mapped_column(String(80), nullable=True)
    file_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    file_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)


class SopDefinition(Base):
    """The standard operating procedure of one incident type (data: pack YAML or the API)."""

    __tablename__ = "incident_sops"

    type: Mapped[str] = mapped_column(String(60), primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(80), default="api")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SlaEntry(Base):
    """How long an incident of a type and severity may stay open (``*``: any type)."""

    __tablename__ = "incident_sla"

    type: Mapped[str] = mapped_column(String(60), primary_key=True)
    severity: Mapped[str] = mapped_column(String(16), primary_key=True)
    hours: Mapped[float] = mapped_column(Float)


class CorrelationRule(Base):
    """A correlation rule (data): which signals in one ward make or join an incident."""

    __tablename__ = "incident_correlations"

    code: Mapped[str] = mapped_column(String(80), primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(80), default="api")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CorrelationRevision(Base):
    """One row: a counter raised in the same transaction as every write of a correlation rule,
    so a process holding the validated rules in memory (``correlation_rules_in``) sees with one
    primary-key read that its copy is stale — whichever process wrote the rule (the API,
    `taydo incidents sop load`, a pack load)."""

    __tablename__ = "incident_correlation_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)


# The one place a rule write raises the revision: every ORM insert, update or delete of a
# ``CorrelationRule``, in the flush of its own transaction. The session is marked too, so a
# read inside that same uncommitted transaction does not cache what may yet be rolled back.
RULES_CHANGED = "taydo.incidents.correlation_changed"


def _bump_rules(connection: Connection, target: CorrelationRule) -> None:
    raised = connection.execute(
        update(CorrelationRevision)
        .where(CorrelationRevision.id == 1)
        .values(revision=CorrelationRevision.revision + 1)
    )
    if raised.rowcount == 0:
        # The row was deleted (a test's emptied tables): start again at a number no process
        # can hold a copy under (a plain 1 might be the label of a copy from before).
        connection.execute(
            insert(CorrelationRevision).values(id=1, revision=secrets.randbelow(2**50) + 1)
        )
    session = object_session(target)
    if session is not None:
        session.info[RULES_CHANGED] = True


@event.listens_for(CorrelationRule, "after_insert")
@event.listens_for(CorrelationRule, "after_update")
@event.listens_for(CorrelationRule, "after_delete")
def _rule_written(_mapper: Mapper[CorrelationRule], connection: Connection, target: Any) -> None:
    _bump_rules(connection, target)


class ReportSnapshot(Base):
    """The newest state of a citizen report as heard on ``citizen.report.*`` (citizen is a
    sibling domain: its tables are not ours to read)."""

    __tablename__ = "incident_report_snapshots"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    service_code: Mapped[str] = mapped_column(String(80), index=True)
    area_code: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

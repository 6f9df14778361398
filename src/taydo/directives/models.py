"""Directives (chỉ đạo, giao nhiệm vụ), one assignment per agency, their progress reports and
the files attached to them (stored on disk; the rows hold where and what)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from taydo.core.db import Base, BigIntPK, UTCDateTime


class Directive(Base):
    """A task a leader gives to one or more agencies, with a deadline.

    ``incident_id`` and ``kpi_code`` are plain references (no foreign key): the incidents and
    KPI domains sit above this one, and a directive outlives what it was issued about."""

    __tablename__ = "directives"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | completed | cancelled
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    incident_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    kpi_code: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    issued_by: Mapped[str] = mapped_column(String(80))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)


class Assignment(Base):
    """One agency's part of a directive, with its own lifecycle:
    assigned → acknowledged → in_progress → done (reported) → accepted, or rejected;
    a returned completion goes back to in_progress."""

    __tablename__ = "directive_assignments"
    __table_args__ = (UniqueConstraint("directive_id", "agency_code"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    directive_id: Mapped[int] = mapped_column(
        ForeignKey("directives.id", ondelete="CASCADE"), index=True
    )
    agency_code: Mapped[str] = mapped_column(String(40), index=True)
    # The agency's area when it was assigned (a ward's People's Committee: its ward), so
    # on-time rates can be asked per area.
    area_code: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    percent: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # When the completion was reported (the one accepted counts for the on-time rate).
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")  # of a rejection or a return
    # Set by the deadline check: reminders go out once each.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Report(Base):
    """A progress or completion report of one assignment (the agency's own words)."""

    __tablename__ = "directive_reports"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("directive_assignments.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # progress | completion
    percent: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class DirectiveFile(Base):
    """An attachment of the leader (``assignment_id`` NULL) or an agency's evidence."""

    __tablename__ = "directive_files"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    directive_id: Mapped[int] = mapped_column(
        ForeignKey("directives.id", ondelete="CASCADE"), index=True
    )
    assignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("directive_assignments.id", ondelete="CASCADE"), nullable=True, index=True
    )
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("directive_reports.id", ondelete="SET NULL"), nullable=True
    )
    name: Mapped[str] = mapped_column(String(200))  # as uploaded, cleaned; shown only
    media_type: Mapped[str] = mapped_column(String(40))  # found from the content
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored: Mapped[str] = mapped_column(String(120), unique=True)  # path under the files folder
    uploaded_by: Mapped[str] = mapped_column(String(80))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())

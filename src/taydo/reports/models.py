"""Report jobs (what to generate, when, for whom) and their runs (one per scheduled slot)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from taydo.core.db import Base, BigIntPK, UTCDateTime

__all__ = ["ReportJob", "ReportRun"]


class ReportJob(Base):
    """A scheduled report: its kind and format, a cron expression read in the display time
    zone, the agency it covers (None: every agency) and who receives it by email."""

    __tablename__ = "report_jobs"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # daily | monthly
    format: Mapped[str] = mapped_column(String(8))  # pdf | xlsx
    cron: Mapped[str] = mapped_column(String(120))
    agency_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    recipients: Mapped[list[str]] = mapped_column(JSON)
    channel_code: Mapped[str] = mapped_column(String(80))  # an email channel of alerts (SMTP)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The newest slot this job was run for (or, for a new job, the slot before its creation:
    # a job never runs for a time before it existed).
    last_slot: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ReportRun(Base):
    """One generation of a job for one slot. The unique (job, slot) pair is what makes a slot
    run once however many server processes see it due: the second insert fails."""

    __tablename__ = "report_runs"
    __table_args__ = (UniqueConstraint("job_id", "slot", name="uq_report_runs_job_slot"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(
        ForeignKey("report_jobs.id", ondelete="CASCADE"), index=True
    )
    slot: Mapped[datetime] = mapped_column(UTCDateTime())
    runner: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(12))  # running | sent | failed
    filename: Mapped[str] = mapped_column(String(200), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=1)  # a failed run is tried again

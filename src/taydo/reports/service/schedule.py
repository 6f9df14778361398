"""Scheduled reports: jobs as data (kind, format, a cron time in the display time zone,
recipients), run once per slot however many server processes share the database.

* The *slot* of a job at a moment is the newest time its cron names at or before it. A job is
  due when its slot is newer than ``last_slot``; only the newest slot is due, so after
  downtime a missed run is made once, not once per missed day.
* A process *claims* a slot by inserting its run row: the unique (job, slot) pair lets one
  insert succeed, the others fail (and skip), on SQLite and PostgreSQL alike. The scheduler
  also runs as a lease duty (``reports.schedule``), so normally one process even looks.
* A new job's ``last_slot`` is the slot before its creation: it never runs for a time before
  it existed.
* A run whose process died while generating it (kill -9, power loss) would stay ``running``
  for ever. The process that next gains the scheduling duty marks such runs ``failed`` with
  the reason, and the retry rule makes them again; so does any scheduler for a run left
  ``running`` longer than ``STUCK_AFTER_S``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import CroniterError, croniter
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from taydo.alerts.notify import Attachment, send_email
from taydo.auth import journal
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Conflict, NotFound
from taydo.reports.models import ReportJob, ReportRun
from taydo.reports.schemas import JobIn
from taydo.reports.service.build import build_report, default_day
from taydo.reports.service.output import render

__all__ = [
    "claim_due",
    "create_job",
    "delete_job",
    "fail_interrupted",
    "list_jobs",
    "list_runs",
    "run_claimed",
    "slot_at",
]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # a run whose delivery failed is tried again twice
RETRY_AFTER_S = 300  # after 5 minutes, then 10
# A report is made in seconds (docs/performance.md); one still running after this long was
# left by a process that died.
STUCK_AFTER_S = 1800
INTERRUPTED = "interrupted: the process making this report stopped before it finished"


def _utc(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)  # SQLite returns naive UTC values
    return moment


def slot_at(cron: str, tz: ZoneInfo, moment: datetime) -> datetime:
    """The newest time at or before ``moment`` that ``cron`` names (read in ``tz``), in UTC."""
    local = moment.astimezone(tz)
    # croniter's get_prev is strictly before its start: start a second later so a slot
    # exactly at ``moment`` counts.
    found = croniter(cron, local + timedelta(seconds=1)).get_prev(datetime)
    assert isinstance(found, datetime)
    return found.astimezone(UTC)


def _job_dict(job: ReportJob) -> dict[str, Any]:
    slot = _utc(job.last_slot)
    return {
        "id": job.id,
        "code": job.code,
        "kind": job.kind,
        "format": job.format,
        "cron": job.cron,
        "agency": job.agency_code,
        "recipients": list(job.recipients),
        "channel": job.channel_code,
        "enabled": job.enabled,
        "created_by": job.created_by,
        "last_slot": slot.isoformat() if slot else None,
    }


def _run_dict(run: ReportRun, code: str) -> dict[str, Any]:
    finished = _utc(run.finished_at)
    return {
        "id": run.id,
        "job": code,
        "slot": _utc(run.slot).isoformat(),  # type: ignore[union-attr]
        "status": run.status,
        "runner": run.runner,
        "started_at": _utc(run.started_at).isoformat(),  # type: ignore[union-attr]
        "finished_at": finished.isoformat() if finished else None,
        "filename": run.filename,
        "size": run.size,
        "error": run.error,
        "attempts": run.attempts,
    }


def create_job(
    database: Database,
    principal: Principal,
    body: JobIn,
    *,
    tz: ZoneInfo,
    address: str | None = None,
) -> dict[str, Any]:
    now = clock.now()
    with database.session() as session:
        if session.scalar(select(ReportJob.id).where(ReportJob.code == body.code)) is not None:
            raise Conflict(f"đã có lịch báo cáo / a report job {body.code!r} exists")
        job = ReportJob(
            code=body.code,
            kind=body.kind,
            format=body.format,
            cron=body.cron,
            agency_code=body.agency,
            recipients=list(body.recipients),
            channel_code=body.channel,
            enabled=body.enabled,
            created_by=principal.username,
            created_at=now,
            last_slot=slot_at(body.cron, tz, now),
        )
        session.add(job)
        session.flush()
        journal.record(
            session,
            actor=principal.username,
            action="report.job.create",
            object_type="report_job",
            object_id=body.code,
            summary={"after": body.model_dump(mode="json")},
            address=address,
        )
        return _job_dict(job)


def list_jobs(database: Database) -> list[dict[str, Any]]:
    with database.session() as session:
        return [_job_dict(j) for j in session.scalars(select(ReportJob).order_by(ReportJob.code))]


def delete_job(
    database: Database, principal: Principal, code: str, *, address: str | None = None
) -> None:
    with database.session() as session:
        job = session.scalar(select(ReportJob).where(ReportJob.code == code))
        if job is None:
            raise NotFound(f"không có lịch báo cáo / no report job {code!r}")
        before = _job_dict(job)
        session.delete(job)
        journal.record(
            session,
            actor=principal.username,
            action="report.job.delete",
            object_type="report_job",
            object_id=code,
            summary={"before": before},
            address=address,
        )


def list_runs(database: Database, *, limit: int = 100) -> list[dict[str, Any]]:
    with database.session() as session:
        rows = session.execute(
            select(ReportRun, ReportJob.code)
            .join(ReportJob, ReportJob.id == ReportRun.job_id)
            .order_by(ReportRun.id.desc())
            .limit(limit)
        ).all()
        return [_run_dict(run, code) for run, code in rows]


def claim_due(database: Database, *, tz: ZoneInfo, now: datetime, runner: str) -> list[int]:
    """Claim every enabled job's due slot; returns the ids of the runs this process won."""
    with database.session() as session:
        jobs = [
            (job.id, job.cron, _utc(job.last_slot))
            for job in session.scalars(select(ReportJob).where(ReportJob.enabled.is_(True)))
        ]
    claimed: list[int] = []
    for job_id, cron, last in jobs:
        try:
            slot = slot_at(cron, tz, now)
        except CroniterError:  # a schedule naming no time: skip it, run the others
            log.warning("report job %s: its schedule %r names no time", job_id, cron)
            continue
        if last is not None and slot <= last:
            continue
        try:
            with database.session() as session:
                run = ReportRun(
                    job_id=job_id,
                    slot=slot,
                    runner=runner,
                    started_at=now,
                    status="running",
                    filename="",
                    size=0,
                    error="",
                    attempts=1,
                )
                session.add(run)
                job = session.get(ReportJob, job_id)
                if job is None:  # deleted meanwhile
                    session.rollback()
                    continue
                job.last_slot = slot
                session.flush()
                claimed.append(run.id)
        except IntegrityError:
            continue  # another process claimed this slot first
    return claimed + _claim_retries(database, now=now, runner=runner)


def fail_interrupted(
    database: Database, *, now: datetime, runner: str, all_others: bool = False
) -> list[int]:
    """Mark ``failed`` the runs left ``running`` by another process: every such run when
    ``all_others`` (called by the process that has just gained the scheduling duty, so no
    other process is making reports), else those started more than ``STUCK_AFTER_S`` ago.
    The retry rule then makes them again. Returns the ids marked."""
    stuck_before = now - timedelta(seconds=STUCK_AFTER_S)
    with database.session() as session:
        left = session.execute(
            select(ReportRun.id, ReportRun.runner, ReportRun.started_at, ReportJob.code)
            .join(ReportJob, ReportJob.id == ReportRun.job_id)
            .where(ReportRun.status == "running", ReportRun.runner != runner)
        ).all()
        marked: list[int] = []
        for run_id, by, started_at, code in left:
            started = _utc(started_at)
            if not all_others and started is not None and started > stuck_before:
                continue
            taken = (
                session.connection()
                .execute(
                    update(ReportRun)
                    .where(ReportRun.id == run_id, ReportRun.status == "running")
                    .values(status="failed", finished_at=now, error=INTERRUPTED)
                )
                .rowcount
            )
            if taken == 1:
                marked.append(run_id)
                log.warning("report run %s of job %s left running by %s: failed", run_id, code, by)
                journal.record(
                    session,
                    actor="system",
                    action="report.failed",
                    object_type="report_job",
                    object_id=code,
                    summary={"run": run_id, "runner": by, "error": INTERRUPTED},
                )
        return marked


def _claim_retries(database: Database, *, now: datetime, runner: str) -> list[int]:
    """Failed runs of enabled jobs whose wait is over (``RETRY_AFTER_S`` × attempts made),
    at most ``MAX_ATTEMPTS`` in all; each claimed by a conditional update, so one process
    retries it."""
    with database.session() as session:
        failed = session.execute(
            select(ReportRun.id, ReportRun.attempts, ReportRun.finished_at)
            .join(ReportJob, ReportJob.id == ReportRun.job_id)
            .where(
                ReportRun.status == "failed",
                ReportRun.attempts < MAX_ATTEMPTS,
                ReportJob.enabled.is_(True),
            )
        ).all()
    claimed: list[int] = []
    for run_id, attempts, finished in failed:
        finished = _utc(finished)
        if finished is None or now - finished < timedelta(seconds=RETRY_AFTER_S * attempts):
            continue
        with database.session() as session:
            taken = (
                session.connection()
                .execute(  # a CursorResult: its rowcount
                    update(ReportRun)
                    .where(ReportRun.id == run_id, ReportRun.status == "failed")
                    .values(status="running", runner=runner, started_at=now, attempts=attempts + 1)
                )
                .rowcount
            )
        if taken == 1:
            claimed.append(run_id)
    return claimed


def run_claimed(
    database: Database,
    run_id: int,
    *,
    tz: ZoneInfo,
    timeout_s: float = 10.0,
    province: str | None = None,
) -> dict[str, Any]:
    """Generate the report of a claimed run and email it; the run records the outcome."""
    with database.session() as session:
        run = session.get(ReportRun, run_id)
        if run is None:
            raise NotFound(f"no report run {run_id}")
        job = session.get(ReportJob, run.job_id)
        if job is None:
            raise NotFound(f"no report job for run {run_id}")
        job_view = _job_dict(job)
        slot = _utc(run.slot)
    assert slot is not None
    filename, size, error = "", 0, ""
    try:
        report = build_report(
            database,
            kind=job_view["kind"],
            tz=tz,
            day=default_day(job_view["kind"], slot, tz),
            agency=job_view["agency"],
            province=province,
        )
        rendered = render(report, job_view["format"], tz, clock.now())
        filename, size = rendered.filename, len(rendered.content)
        send_email(
            database,
            job_view["channel"],
            recipients=job_view["recipients"],
            subject=f"[Tây Đô] {report.title_vi} — {report.period_label}",
            text=(
                f"{report.title_vi} ({report.title_en}), kỳ / period {report.period_label}.\n"
                f"Tệp đính kèm / attached: {rendered.filename}\n"
            ),
            attachments=(Attachment(rendered.filename, rendered.content, rendered.media_type),),
            timeout_s=timeout_s,
        )
    except Exception as exc:  # recorded on the run, shown on the reports page
        log.exception("report job %s failed", job_view["code"])
        error = f"{type(exc).__name__}: {exc}"[:2000]
    with database.session() as session:
        run = session.get(ReportRun, run_id)
        assert run is not None
        run.status = "failed" if error else "sent"
        run.finished_at = clock.now()
        run.filename, run.size, run.error = filename, size, error
        journal.record(
            session,
            actor="system",
            action="report.sent" if not error else "report.failed",
            object_type="report_job",
            object_id=job_view["code"],
            summary={
                "slot": slot.isoformat(),
                "filename": filename,
                "recipients": job_view["recipients"],
                "error": error,
            },
        )
        return _run_dict(run, job_view["code"])

"""Deadlines: the periodic check (reminders before the deadline, the overdue flag and its
notice) and the on-time statistics per agency.

On time means the completion that the leader accepted was reported by the deadline. An
assignment counts in a period [start, end) when its deadline passed in it (a deadline still
ahead is not yet due) or its accepted completion was reported in it; rejected assignments and
cancelled directives count nowhere.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, false, func, or_, select, update
from sqlalchemy.orm import Session

from taydo.auth import journal
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.directives.models import Assignment, Directive
from taydo.directives.service.common import WORKING, directive_dict, iso
from taydo.directives.service.notices import notify

__all__ = ["agency_rates", "check_deadlines", "on_time_counts"]


def check_deadlines(
    database: Database, *, remind_before: timedelta, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Remind the agencies whose deadline is near (once) and flag, journal and notify the
    parts that have become overdue (once); returns the directives changed (for the bus)."""
    moment = now or clock.now()
    changed: dict[int, Directive] = {}
    with database.session() as session:
        if session.get_bind().dialect.name == "sqlite":
            # Take the write lock before reading (see common.load_directive): SQLite has no
            # FOR UPDATE, and a part completed meanwhile must not be flagged.
            session.execute(update(Directive).where(false()).values(revision=Directive.revision))
        open_parts = (
            select(Assignment, Directive)
            .join(Directive, Directive.id == Assignment.directive_id)
            .where(Directive.status == "open", Assignment.status.in_(WORKING))
            # Parts being changed by people wait for them; PostgreSQL then re-checks the
            # conditions, so a part completed meanwhile is neither reminded nor flagged.
            .with_for_update(of=Assignment)
        )
        due_soon = session.execute(
            open_parts.where(
                Assignment.reminded_at.is_(None),
                Assignment.due_at > moment,
                Assignment.due_at <= moment + remind_before,
            )
        ).all()
        for assignment, directive in due_soon:
            assignment.reminded_at = moment
            notify(session, directive, assignment, "due_soon")
            journal.record(
                session,
                actor="system",
                action="directive.reminded",
                object_type="directive",
                object_id=str(directive.id),
                summary={"agency": assignment.agency_code, "due_at": iso(assignment.due_at)},
            )
        late = session.execute(
            open_parts.where(Assignment.overdue_at.is_(None), Assignment.due_at <= moment)
        ).all()
        for assignment, directive in late:
            assignment.overdue_at = assignment.updated_at = moment
            notify(session, directive, assignment, "overdue")
            journal.record(
                session,
                actor="system",
                action="directive.overdue",
                object_type="directive",
                object_id=str(directive.id),
                summary={"agency": assignment.agency_code, "due_at": iso(assignment.due_at)},
            )
            changed[directive.id] = directive
        if not changed:
            return []
        parts: dict[int, list[Assignment]] = {i: [] for i in changed}
        for assignment in session.scalars(
            select(Assignment)
            .where(Assignment.directive_id.in_(sorted(changed)))
            .order_by(Assignment.agency_code)
        ):
            parts[assignment.directive_id].append(assignment)
        for directive in changed.values():
            directive.updated_at = moment
            directive.revision += 1
        return [directive_dict(d, parts[d.id], moment) for d in changed.values()]


def _counted(start: datetime, end: datetime, now: datetime) -> Any:
    due_passed = and_(Assignment.due_at >= start, Assignment.due_at < min(end, now))
    finished = and_(
        Assignment.status == "accepted", Assignment.done_at >= start, Assignment.done_at < end
    )
    return and_(
        Directive.status != "cancelled",
        Assignment.status != "rejected",
        or_(due_passed, finished),
    )


def _on_time() -> Any:
    return and_(Assignment.status == "accepted", Assignment.done_at <= Assignment.due_at)


def on_time_counts(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    agency_code: str | None = None,
    area_code: str | None = None,
) -> tuple[int, int]:
    """(assignments finished on time, assignments due or finished) in [start, end), for the
    KPI engine; ``area_code`` is the agency's area when it was assigned."""
    now = clock.now()
    counted = _counted(start, end, now)
    statement = (
        select(func.count(), func.count().filter(_on_time()))
        .select_from(Assignment)
        .join(Directive, Directive.id == Assignment.directive_id)
        .where(counted)
    )
    if agency_code is not None:
        statement = statement.where(Assignment.agency_code == agency_code)
    if area_code is not None:
        statement = statement.where(Assignment.area_code == area_code)
    total, on_time = session.execute(statement).one()
    return int(on_time or 0), int(total or 0)


def agency_rates(
    database: Database,
    principal: Principal | None,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[dict[str, Any]]:
    """Per agency: on-time rate over [start, end) (all time by default), open and overdue
    parts now. Officers get their own agencies."""
    now = clock.now()
    begin = start or datetime(1970, 1, 1, tzinfo=now.tzinfo)
    finish = end or now + timedelta(days=36500)
    counted = _counted(begin, finish, now)
    statement = (
        select(
            Assignment.agency_code,
            func.count().filter(counted),
            func.count().filter(and_(counted, _on_time())),
            func.count().filter(
                and_(Directive.status == "open", Assignment.status.in_((*WORKING, "done")))
            ),
            func.count().filter(
                and_(
                    Directive.status == "open",
                    Assignment.status.in_(WORKING),
                    Assignment.due_at < now,
                )
            ),
        )
        .join(Directive, Directive.id == Assignment.directive_id)
        .group_by(Assignment.agency_code)
        .order_by(Assignment.agency_code)
    )
    if principal is not None and not principal.sees_everything:
        statement = statement.where(Assignment.agency_code.in_(sorted(principal.agencies)))
    with database.session() as session:
        rows = session.execute(statement).all()
    return [
        {
            "agency_code": code,
            "counted": int(total),
            "on_time": int(on_time),
            "rate": (on_time / total) if total else None,
            "open": int(open_),
            "overdue": int(overdue),
        }
        for code, total, on_time, open_, overdue in rows
    ]

"""Due times: incidents and SOP steps that pass their due time are marked overdue, steps
about to fall due are announced; each turn notifies once. Run by one process of a cluster
(the ``incidents.due`` lease duty) every ``CHECK_S`` seconds; ``check_due`` is one turn.

``on_time_counts`` is what the KPI engine counts: incidents finished on time among those due
or finished in a period.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from taydo.core import clock
from taydo.core.db import Database
from taydo.incidents.models import Incident, IncidentStep
from taydo.incidents.service import notices
from taydo.incidents.service.common import OPEN_STATUSES, event_of, record

__all__ = ["DUE_SOON", "check_due", "on_time_counts"]

DUE_SOON = timedelta(minutes=30)


def _steps(session: Session, moment: datetime) -> list[tuple[IncidentStep, Incident]]:
    rows = session.execute(
        select(IncidentStep, Incident)
        .join(Incident, Incident.id == IncidentStep.incident_id)
        .where(
            IncidentStep.status == "pending",
            IncidentStep.overdue.is_(False),
            IncidentStep.due_at <= moment,
            Incident.status.in_(OPEN_STATUSES),
        )
        .order_by(IncidentStep.id)
        .limit(1000)
    )
    return [(step, incident) for step, incident in rows]


def check_due(database: Database, now: datetime | None = None) -> list[dict[str, Any]]:
    """One turn; returns the ``incidents.changed`` events of the incidents it changed."""
    moment = now or clock.now()
    changed: dict[int, Incident] = {}
    with database.session() as session:
        late = session.scalars(
            select(Incident)
            .where(
                Incident.status.in_(OPEN_STATUSES),
                Incident.overdue.is_(False),
                Incident.due_at <= moment,
            )
            .limit(1000)
        ).all()
        for incident in late:
            incident.overdue = True
            record(session, "system", incident, "overdue", {"due_at": incident.due_at})
            notices.incident_overdue(session, incident)
            changed[incident.id] = incident
        for step, incident in _steps(session, moment):
            step.overdue = True
            record(session, "system", incident, "step_overdue", {"step": step.code})
            notices.step_overdue(session, incident, step)
            changed[incident.id] = incident
        for step, incident in _steps(session, moment + DUE_SOON):
            if step.warned or step.overdue:
                continue
            step.warned = True
            record(session, "system", incident, "step_due_soon", {"step": step.code})
            notices.step_due_soon(session, incident, step)
            changed[incident.id] = incident
        for incident in changed.values():
            incident.updated_at, incident.revision = moment, incident.revision + 1
        return [event_of(session, incident) for incident in changed.values()]


def on_time_counts(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    agency_code: str | None = None,
    area_code: str | None = None,
) -> tuple[int, int]:
    """(incidents resolved on time, incidents due or resolved) in ``[start, end)``.

    An incident counts when its due time or its resolution falls in the period; it is on time
    when resolved no later than its due time (or resolved without one)."""
    resolved_in = and_(Incident.resolved_at >= start, Incident.resolved_at < end)
    due_in = and_(Incident.due_at >= start, Incident.due_at < end)
    on_time = and_(
        Incident.resolved_at.is_not(None),
        resolved_in,
        or_(Incident.due_at.is_(None), Incident.resolved_at <= Incident.due_at),
    )
    statement = select(func.count().filter(on_time), func.count()).where(or_(resolved_in, due_in))
    if agency_code is not None:
        statement = statement.where(Incident.agency_code == agency_code)
    if area_code is not None:
        statement = statement.where(Incident.area_code == area_code)
    done, total = session.execute(statement).one()
    return int(done or 0), int(total or 0)

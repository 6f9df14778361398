"""Reading directives: the tracker's list (filters, agency scope), one directive with its
reports, files and timeline, and an agency's own assignments."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, select

from taydo.auth import journal
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Invalid
from taydo.directives.models import Assignment, Directive, DirectiveFile, Report
from taydo.directives.service.common import (
    ASSIGNMENT_STATES,
    DIRECTIVE_STATES,
    WORKING,
    directive_dict,
    file_dict,
    iso,
    load_directive,
    report_dict,
)

__all__ = ["get_directive", "list_directives"]

_STATUSES = {c.code for c in DIRECTIVE_STATES}
_ASSIGNMENT_STATUSES = {c.code for c in ASSIGNMENT_STATES}


def list_directives(
    database: Database,
    principal: Principal | None,
    *,
    status: str | None = None,
    agency: str | None = None,
    assignment_status: str | None = None,
    overdue: bool | None = None,
    incident_id: int | None = None,
    kpi_code: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Soonest deadline first among open ones, then the newest closed; an officer sees only
    directives assigned to one of their agencies (and, in each, every agency's part)."""
    if status and status not in _STATUSES:
        raise Invalid(
            f"trạng thái không hợp lệ / unknown status {status!r}", allowed=sorted(_STATUSES)
        )
    if assignment_status and assignment_status not in _ASSIGNMENT_STATUSES:
        raise Invalid(
            f"trạng thái không hợp lệ / unknown assignment status {assignment_status!r}",
            allowed=sorted(_ASSIGNMENT_STATUSES),
        )
    now = clock.now()
    statement = select(Directive)
    part = select(Assignment.id).where(Assignment.directive_id == Directive.id)
    if principal is not None and not principal.sees_everything:
        part = part.where(Assignment.agency_code.in_(sorted(principal.agencies)))
        statement = statement.where(exists(part))
    if agency:
        part = part.where(Assignment.agency_code == agency)
    if assignment_status:
        part = part.where(Assignment.status == assignment_status)
    if overdue is not None:
        late = and_(Assignment.status.in_(WORKING), Assignment.due_at < now)
        if overdue:
            statement = statement.where(Directive.status == "open")
            part = part.where(late)
        else:
            statement = statement.where(~exists(part.where(late)))
    if agency or assignment_status or overdue:
        statement = statement.where(exists(part))
    for column, value in (
        (Directive.status, status),
        (Directive.incident_id, incident_id),
        (Directive.kpi_code, kpi_code),
    ):
        if value:
            statement = statement.where(column == value)
    statement = statement.order_by(
        (Directive.status != "open"), Directive.due_at, Directive.id.desc()
    )
    with database.session() as session:
        rows = session.scalars(statement.limit(min(limit, 1000)).offset(offset)).all()
        ids = [row.id for row in rows]
        parts: dict[int, list[Assignment]] = {i: [] for i in ids}
        if ids:
            for assignment in session.scalars(
                select(Assignment)
                .where(Assignment.directive_id.in_(ids))
                .order_by(Assignment.agency_code)
            ):
                parts[assignment.directive_id].append(assignment)
        return [directive_dict(row, parts[row.id], now, principal) for row in rows]


def get_directive(
    database: Database, principal: Principal | None, directive_id: int
) -> dict[str, Any]:
    """One directive with every agency's reports and files, and its timeline."""
    with database.session() as session:
        directive, assignments = load_directive(session, principal, directive_id)
        result = directive_dict(directive, assignments, None, principal)
        agency_of = {a.id: a.agency_code for a in assignments}
        shown = {item["id"] for item in result["assignments"]}
        reports = session.scalars(
            select(Report)
            .where(Report.assignment_id.in_(sorted(shown) or [0]))
            .order_by(Report.at, Report.id)
        ).all()
        files = session.scalars(
            select(DirectiveFile)
            .where(DirectiveFile.directive_id == directive.id)
            .order_by(DirectiveFile.id)
        ).all()
        files = [f for f in files if f.assignment_id is None or f.assignment_id in shown]
    result["reports"] = [report_dict(r, agency_of[r.assignment_id]) for r in reports]
    result["files"] = [
        file_dict(f, agency_of.get(f.assignment_id) if f.assignment_id else None) for f in files
    ]
    for item in result["assignments"]:
        item["reports"] = [r for r in result["reports"] if r["assignment_id"] == item["id"]]
        item["files"] = [f for f in result["files"] if f["assignment_id"] == item["id"]]
    result["attachments"] = [f for f in result["files"] if f["assignment_id"] is None]
    result["timeline"] = [
        {
            "at": iso(entry["at"]),
            "actor": entry["actor"],
            "action": entry["action"].removeprefix("directive."),
            "summary": entry["summary"],
        }
        for entry in journal.timeline(database, "directive", directive.id)
    ]
    return result

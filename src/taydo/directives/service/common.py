"""What the directive services share: choice sets, loading with agency scope, the shapes the
API, the bus and the console carry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.errors import NotFound
from taydo.directives.models import Assignment, Directive, DirectiveFile, Report
from taydo.rules.choices import Choice

__all__ = [
    "ACTIVE",
    "ASSIGNMENT_STATES",
    "DIRECTIVE_STATES",
    "PRIORITIES",
    "WORKING",
    "assignment_dict",
    "bus_event",
    "directive_dict",
    "file_dict",
    "is_overdue",
    "iso",
    "load_directive",
    "may_follow_up",
    "may_see",
    "on_time",
    "report_dict",
]

PRIORITIES: tuple[Choice, ...] = (
    Choice("low", "Thấp", "Low", "#6b7280", 1),
    Choice("normal", "Bình thường", "Normal", "#2f80ed", 2),
    Choice("high", "Cao", "High", "#f2994a", 3),
    Choice("urgent", "Khẩn", "Urgent", "#eb5757", 4),
)
ASSIGNMENT_STATES: tuple[Choice, ...] = (
    Choice("assigned", "Đã giao", "Assigned", "#6b7280", 1),
    Choice("acknowledged", "Đã tiếp nhận", "Acknowledged", "#2f80ed", 2),
    Choice("in_progress", "Đang thực hiện", "In progress", "#f2c94c", 3),
    Choice("done", "Báo cáo hoàn thành", "Completion reported", "#9b51e0", 4),
    Choice("accepted", "Đã nghiệm thu", "Accepted", "#27ae60", 5),
    Choice("rejected", "Từ chối", "Rejected", "#828282", 6),
)
DIRECTIVE_STATES: tuple[Choice, ...] = (
    Choice("open", "Đang thực hiện", "Open", "#2f80ed", 1),
    Choice("completed", "Đã hoàn thành", "Completed", "#27ae60", 2),
    Choice("cancelled", "Đã hủy", "Cancelled", "#828282", 3),
)
WORKING = ("assigned", "acknowledged", "in_progress")  # the agency still owes the work
ACTIVE = (*WORKING, "done")  # not finished: done awaits the leader's acceptance
_BY_CODE = {c.code: c for c in (*PRIORITIES, *ASSIGNMENT_STATES)}
_DIRECTIVE_BY_CODE = {c.code: c for c in DIRECTIVE_STATES}


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).isoformat()


def _label(choice: Choice | None) -> dict[str, str] | None:
    return {"vi": choice.vi, "en": choice.en, "colour": choice.colour} if choice else None


def is_overdue(assignment: Assignment, now: datetime | None = None) -> bool:
    """Past its deadline while the agency still owes the work."""
    return assignment.status in WORKING and assignment.due_at < (now or clock.now())


def on_time(assignment: Assignment) -> bool | None:
    """Whether the completion was reported by the deadline (None: not reported)."""
    if assignment.status not in ("done", "accepted") or assignment.done_at is None:
        return None
    return assignment.done_at <= assignment.due_at


def may_see(principal: Principal | None, assignments: list[Assignment]) -> bool:
    """Officers see a directive only when one of their agencies is assigned to it."""
    if principal is None or principal.sees_everything:
        return True
    return any(a.agency_code in principal.agencies for a in assignments)


def may_follow_up(principal: Principal | None, issued_by: str) -> bool:
    """Whether the caller may accept or return an agency's reported completion: a leader
    (``directives:issue``) on any directive, and whoever issued it, such as the operator who
    tasked agencies from an incident (``directives:incident``): the one who asked for the work
    judges it, or it would wait for a leader who never asked."""
    if principal is None:
        return False
    if principal.has("directives:issue"):
        return True
    return principal.has("directives:incident") and principal.username == issued_by


def load_directive(
    session: Session, principal: Principal | None, directive_id: int, *, lock: bool = False
) -> tuple[Directive, list[Assignment]]:
    """The directive and its parts, or NotFound when absent or out of the caller's scope.

    ``lock``: for a change — the directive's row is locked until commit, so two people
    acting on it at once act one after the other and the second sees the first's change (no
    double completion, no accept of a part just returned)."""
    if lock and session.get_bind().dialect.name == "sqlite":
        # pysqlite reads outside a transaction until the first write: a write first takes
        # the database's write lock (other writers wait), so what is read next is current.
        session.execute(
            update(Directive)
            .where(Directive.id == directive_id)
            .values(revision=Directive.revision)
        )
    directive = session.get(Directive, directive_id, with_for_update=lock)
    assignments: list[Assignment] = []
    if directive is not None:
        assignments = list(
            session.scalars(
                select(Assignment)
                .where(Assignment.directive_id == directive.id)
                .order_by(Assignment.agency_code)
            )
        )
    if directive is None or not may_see(principal, assignments):  # 404 alike: no leak
        raise NotFound(f"không có chỉ đạo / no directive {directive_id}")
    return directive, assignments


def assignment_dict(assignment: Assignment, now: datetime | None = None) -> dict[str, Any]:
    state = _BY_CODE.get(assignment.status)
    return {
        "id": assignment.id,
        "directive_id": assignment.directive_id,
        "agency_code": assignment.agency_code,
        "status": assignment.status,
        "status_label": _label(state),
        "percent": assignment.percent,
        "due_at": iso(assignment.due_at),
        "overdue": is_overdue(assignment, now),
        "on_time": on_time(assignment),
        "overdue_flagged_at": iso(assignment.overdue_at),
        "acknowledged_at": iso(assignment.acknowledged_at),
        "done_at": iso(assignment.done_at),
        "accepted_at": iso(assignment.accepted_at),
        "reason": assignment.reason,
        "updated_at": iso(assignment.updated_at),
    }


def directive_dict(
    directive: Directive,
    assignments: list[Assignment],
    now: datetime | None = None,
    principal: Principal | None = None,
) -> dict[str, Any]:
    """A directive as the API, the bus and the console carry it. An officer gets the parts of
    their own agencies only (``agency_codes`` still names every agency assigned)."""
    moment = now or clock.now()
    priority = _BY_CODE.get(directive.priority)
    state = _DIRECTIVE_BY_CODE.get(directive.status)
    shown = [
        a
        for a in assignments
        if principal is None or principal.sees_everything or a.agency_code in principal.agencies
    ]
    items = [assignment_dict(a, moment) for a in shown]
    return {
        "id": directive.id,
        "title": directive.title,
        "description": directive.description,
        "priority": directive.priority,
        "priority_label": _label(priority),
        "status": directive.status,
        "status_label": _label(state),
        "due_at": iso(directive.due_at),
        "overdue": directive.status == "open" and any(i["overdue"] for i in items),
        "incident_id": directive.incident_id,
        "kpi_code": directive.kpi_code,
        "issued_by": directive.issued_by,
        "issued_at": iso(directive.issued_at),
        "updated_at": iso(directive.updated_at),
        "closed_at": iso(directive.closed_at),
        "revision": directive.revision,
        "agency_codes": [a.agency_code for a in assignments],
        "assignments": items,
        "url": f"/directives/{directive.id}",
    }


def bus_event(directive: dict[str, Any]) -> dict[str, Any]:
    """The ``directives.changed`` payload agreed with the other domains."""
    return {
        "id": directive["id"],
        "status": directive["status"],
        "agency_codes": list(directive["agency_codes"]),
        "due_at": directive["due_at"],
        "incident_id": directive["incident_id"],
        "kpi_code": directive["kpi_code"],
        "url": directive["url"],
    }


def report_dict(report: Report, agency_code: str) -> dict[str, Any]:
    return {
        "id": report.id,
        "assignment_id": report.assignment_id,
        "agency_code": agency_code,
        "kind": report.kind,
        "percent": report.percent,
        "note": report.note,
        "actor": report.actor,
        "at": iso(report.at),
    }


def file_dict(row: DirectiveFile, agency_code: str | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "directive_id": row.directive_id,
        "assignment_id": row.assignment_id,
        "agency_code": agency_code,
        "report_id": row.report_id,
        "name": row.name,
        "media_type": row.media_type,
        "size": row.size,
        "sha256": row.sha256,
        "uploaded_by": row.uploaded_by,
        "uploaded_at": iso(row.uploaded_at),
        "url": f"/api/v1/directives/files/{row.id}",
    }

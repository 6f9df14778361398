"""What the assigned agencies are told, through the alerts outbox (same routes by agency, same
channels and deliveries as alerts), written in the caller's transaction."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.orm import Session

from taydo.alerts.messages import Message, enqueue_message
from taydo.directives.models import Assignment, Directive
from taydo.directives.service.common import iso

__all__ = ["NOTICES", "Notice", "notify"]

Notice = Literal["assigned", "returned", "due_soon", "overdue"]

# kind: (Vietnamese title prefix, English title prefix)
NOTICES: dict[str, tuple[str, str]] = {
    "assigned": ("Chỉ đạo mới", "New directive"),
    "returned": ("Kết quả bị trả lại", "Completion returned"),
    "due_soon": ("Sắp đến hạn", "Due soon"),
    "overdue": ("Quá hạn", "Overdue"),
}
# A directive's priority as the severity the routes filter on (an overdue one is at least a
# warning: it is late).
_SEVERITY = {"low": "info", "normal": "info", "high": "warning", "urgent": "danger"}


def notify(session: Session, directive: Directive, assignment: Assignment, notice: Notice) -> int:
    """Queue one message to ``assignment``'s agency; returns the deliveries queued."""
    vi, en = NOTICES[notice]
    severity = _SEVERITY.get(directive.priority, "info")
    if notice == "overdue" and severity == "info":
        severity = "warning"
    body = assignment.reason if notice == "returned" else directive.description
    message = Message(
        kind=f"directive.{notice}",
        title=f"{vi}: {directive.title}",
        title_en=f"{en}: {directive.title}",
        body=body[:2000],
        link=f"/directives/{directive.id}",
        agency_code=assignment.agency_code,
        severity=severity,
        extra={
            "directive_id": directive.id,
            "agency_code": assignment.agency_code,
            "status": assignment.status,
            "due_at": iso(assignment.due_at),
            "priority": directive.priority,
            "incident_id": directive.incident_id,
            "kpi_code": directive.kpi_code,
        },
    )
    return enqueue_message(session, message)

"""Notifications of incidents to agencies, through the alerts outbox (same routes, channels,
notifier), written in the caller's transaction: a notice exists exactly when its change does."""

from __future__ import annotations

from sqlalchemy.orm import Session

from taydo.alerts.messages import Message, enqueue_message
from taydo.incidents.models import Incident, IncidentStep

__all__ = ["assignment", "incident_overdue", "step_due_soon", "step_overdue"]


def _send(
    session: Session,
    incident: Incident,
    kind: str,
    title: str,
    title_en: str,
    body: str,
    agency_code: str | None = None,
) -> None:
    enqueue_message(
        session,
        Message(
            kind=kind,
            title=title,
            title_en=title_en,
            body=body,
            link=f"/incidents/{incident.id}",
            agency_code=agency_code or incident.agency_code,
            area_code=incident.area_code,
            sector=None,
            severity=incident.severity,
        ),
    )


def assignment(session: Session, incident: Incident, assignees: list[str]) -> None:
    """One notice per newly assigned agency (users are reached through their agency)."""
    agencies = sorted({a.split(":", 1)[1] for a in assignees if a.startswith("agency:")})
    for agency in agencies or ([incident.agency_code] if incident.agency_code else []):
        _send(
            session,
            incident,
            "incident.assigned",
            f"Giao xử lý sự cố {incident.code}: {incident.title}",
            f"Incident {incident.code} assigned: {incident.title}",
            ", ".join(assignees),
            agency,
        )


def step_due_soon(session: Session, incident: Incident, step: IncidentStep) -> None:
    _send(
        session,
        incident,
        "incident.step_due_soon",
        f"Sắp đến hạn bước «{step.title}» của sự cố {incident.code}",
        f"Step “{step.title_en or step.title}” of incident {incident.code} is due soon",
        step.title,
        step.agency_code,
    )


def step_overdue(session: Session, incident: Incident, step: IncidentStep) -> None:
    _send(
        session,
        incident,
        "incident.step_overdue",
        f"Quá hạn bước «{step.title}» của sự cố {incident.code}",
        f"Step “{step.title_en or step.title}” of incident {incident.code} is overdue",
        step.title,
        step.agency_code,
    )


def incident_overdue(session: Session, incident: Incident) -> None:
    _send(
        session,
        incident,
        "incident.overdue",
        f"Sự cố {incident.code} quá hạn xử lý: {incident.title}",
        f"Incident {incident.code} is overdue: {incident.title}",
        incident.title,
    )

"""What the incident services share: who may see and change an incident, an incident as the
API and the bus carry it, the journal entries that are both the audit and the timeline."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taydo.auth import journal
from taydo.core.access import Principal
from taydo.core.errors import NotFound
from taydo.incidents.models import Incident, IncidentLink, IncidentStep
from taydo.rules.choices import SEVERITIES

__all__ = [
    "OPEN_STATUSES",
    "STATUS_LABELS",
    "event_of",
    "incident_dict",
    "iso",
    "link_dict",
    "load",
    "may_read_internal",
    "may_write",
    "record",
    "step_dict",
    "visible",
]

OPEN_STATUSES = ("new", "dispatched", "in_progress")
# code: (Vietnamese, English, colour)
STATUS_LABELS: dict[str, tuple[str, str, str]] = {
    "new": ("Mới", "New", "#2f80ed"),
    "dispatched": ("Đã giao", "Dispatched", "#9b51e0"),
    "in_progress": ("Đang xử lý", "In progress", "#f2994a"),
    "resolved": ("Đã xử lý xong", "Resolved", "#27ae60"),
    "closed": ("Đã đóng", "Closed", "#828282"),
}
SEVERITY_BY_CODE = {c.code: c for c in SEVERITIES}


def aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def iso(moment: datetime | None) -> str | None:
    found = aware(moment)
    return found.isoformat() if found else None


def _agencies_of(incident: Incident) -> set[str]:
    """The responsible agency and every agency among the assignees."""
    found = {incident.agency_code} if incident.agency_code else set()
    found |= {a.split(":", 1)[1] for a in incident.assignees or [] if a.startswith("agency:")}
    return found


def visible(principal: Principal | None, incident: Incident) -> bool:
    """Officers see their agencies' incidents: responsible or assigned; others see all."""
    if principal is None or principal.sees_everything:
        return True
    return bool(_agencies_of(incident) & principal.agencies) or (
        f"user:{principal.username}" in (incident.assignees or [])
    )


def may_write(principal: Principal | None, incident: Incident) -> bool:
    if principal is None or principal.role in ("admin", "operator", "leader"):
        return True
    return principal.role == "agency_officer" and visible(principal, incident)


def may_read_internal(principal: Principal | None, incident: Incident) -> bool:
    """Internal notes: the responsible agency and the IOC's operators (and admins) only."""
    if principal is None or principal.role in ("admin", "operator"):
        return True
    return principal.role == "agency_officer" and incident.agency_code in principal.agencies


def load(session: Session, principal: Principal | None, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None or not visible(principal, incident):  # 404 alike: no existence leak
        raise NotFound(f"không có sự cố / no incident {incident_id}")
    return incident


def record(
    session: Session,
    actor: str,
    incident: Incident,
    action: str,
    summary: dict[str, Any],
    address: str | None = None,
) -> None:
    """One journal entry: the audit trail and the incident's timeline are the same entries."""
    journal.record(
        session,
        actor=actor,
        action=f"incident.{action}",
        object_type="incident",
        object_id=str(incident.id),
        summary=summary,
        address=address,
    )


def step_dict(step: IncidentStep) -> dict[str, Any]:
    return {
        "id": step.id,
        "position": step.position,
        "code": step.code,
        "title": step.title,
        "title_en": step.title_en,
        "role": step.role,
        "agency_code": step.agency_code,
        "fields": step.fields,
        "due_at": iso(step.due_at),
        "status": step.status,
        "done_by": step.done_by,
        "done_at": iso(step.done_at),
        "data": step.data,
        "overdue": step.overdue,
    }


def link_dict(link: IncidentLink) -> dict[str, Any]:
    return {
        "kind": link.kind,
        "ref": link.ref,
        "snapshot": link.snapshot,
        "created_at": iso(link.created_at),
        "created_by": link.created_by,
    }


def incident_dict(incident: Incident) -> dict[str, Any]:
    status = STATUS_LABELS.get(incident.status)
    severity = SEVERITY_BY_CODE.get(incident.severity)
    return {
        "id": incident.id,
        "code": incident.code,
        "type": incident.type,
        "title": incident.title,
        "description": incident.description,
        "severity": incident.severity,
        "severity_label": (
            {"vi": severity.vi, "en": severity.en, "colour": severity.colour} if severity else None
        ),
        "status": incident.status,
        "status_label": (
            {"vi": status[0], "en": status[1], "colour": status[2]} if status else None
        ),
        "lat": incident.lat,
        "lon": incident.lon,
        "area_code": incident.area_code,
        "agency_code": incident.agency_code,
        "assignees": list(incident.assignees or []),
        "started_at": iso(incident.started_at),
        "due_at": iso(incident.due_at),
        "overdue": incident.overdue,
        "created_by": incident.created_by,
        "updated_at": iso(incident.updated_at),
        "resolved_at": iso(incident.resolved_at),
        "closed_at": iso(incident.closed_at),
        "correlation": incident.correlation,
        "revision": incident.revision,
        "url": f"/incidents/{incident.id}",
    }


def event_of(session: Session, incident: Incident) -> dict[str, Any]:
    """The ``incidents.changed`` payload (the shared contract between domains)."""
    links = session.execute(
        select(IncidentLink.kind, IncidentLink.ref).where(IncidentLink.incident_id == incident.id)
    ).all()
    return {
        "id": incident.id,
        "code": incident.code,
        "type": incident.type,
        "status": incident.status,
        "severity": incident.severity,
        "area_code": incident.area_code,
        "agency_code": incident.agency_code,
        "report_ids": sorted(int(r) for k, r in links if k == "report"),
        "alert_ids": sorted(int(r) for k, r in links if k == "alert"),
        "url": f"/incidents/{incident.id}",
        # beyond the shared contract: lets live streams reach the assigned agencies too
        "assigned_agencies": sorted(_agencies_of(incident)),
    }

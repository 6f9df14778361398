"""Incidents by hand: create (from nothing, an alert or citizen reports), read, change status,
assign, comment, complete SOP steps, link. Scoped to the caller's agencies and journalled.

Each changing function returns ``(incident, event)``: the incident as the API shows it and the
``incidents.changed`` payload, which the caller publishes after the commit.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session

from taydo.alerts.service import get_alert
from taydo.auth import journal
from taydo.catalog.service import entity_location_in
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Invalid, NotFound
from taydo.incidents.models import (
    CorrelationRule,
    Incident,
    IncidentLink,
    IncidentNote,
    IncidentStep,
    ReportSnapshot,
)
from taydo.incidents.schemas import AssignIn, IncidentIn, LinkIn, NoteIn, StatusIn, StepDoneIn
from taydo.incidents.service import notices
from taydo.incidents.service.common import (
    OPEN_STATUSES,
    event_of,
    incident_dict,
    iso,
    link_dict,
    load,
    may_read_internal,
    may_write,
    record,
    step_dict,
    visible,
)
from taydo.incidents.service.definitions import instantiate, sla_hours, sop_in

__all__ = [
    "add_links",
    "add_note",
    "assign",
    "change_status",
    "complete_step",
    "create",
    "create_in",
    "get_incident",
    "link_in",
    "list_incidents",
]

Changed = tuple[dict[str, Any], dict[str, Any]]
NEXT: dict[str, tuple[str, ...]] = {
    "new": ("dispatched", "in_progress", "resolved"),
    "dispatched": ("in_progress", "resolved"),
    "in_progress": ("resolved",),
    "resolved": ("closed", "reopen"),
    "closed": ("reopen",),
}


def _actor(principal: Principal | None) -> str:
    return journal.actor_of(principal)


def _writable(session: Session, principal: Principal | None, incident_id: int) -> Incident:
    incident = load(session, principal, incident_id)
    if not may_write(principal, incident):
        raise NotFound(f"không có sự cố / no incident {incident_id}")
    return incident


def _touch(incident: Incident) -> None:
    incident.updated_at = clock.now()
    incident.revision += 1


def link_in(
    session: Session, incident: Incident, kind: str, ref: str, snapshot: dict[str, Any], actor: str
) -> bool:
    """Link once (the same alert or report twice is one link); True when new."""
    exists = session.scalar(
        select(IncidentLink.id).where(
            IncidentLink.incident_id == incident.id,
            IncidentLink.kind == kind,
            IncidentLink.ref == ref,
        )
    )
    if exists is not None:
        return False
    session.add(
        IncidentLink(
            incident_id=incident.id,
            kind=kind,
            ref=ref,
            snapshot=snapshot,
            created_at=clock.now(),
            created_by=actor,
        )
    )
    return True


def _reports(session: Session, report_ids: list[int]) -> list[dict[str, Any]]:
    """The snapshots heard on the bus; an id never heard is refused (422)."""
    if not report_ids:
        return []
    rows = session.scalars(select(ReportSnapshot).where(ReportSnapshot.id.in_(report_ids))).all()
    missing = sorted(set(report_ids) - {r.id for r in rows})
    if missing:
        raise Invalid("không có phản ánh / unknown citizen reports", report_ids=missing)
    return [r.data for r in rows]


def _free_key(session: Session, incident_type: str, area: str) -> tuple[str | None, str | None]:
    """An incident opened by hand takes the open key of its type's correlation rule in its
    ward when no open incident holds it, so later signals of the ward join it too."""
    for rule in session.scalars(select(CorrelationRule).order_by(CorrelationRule.code)):
        definition = rule.definition
        if definition.get("type") != incident_type or not definition.get("enabled", True):
            continue
        key = f"{rule.code}|{area}"
        if session.scalar(select(Incident.id).where(Incident.open_key == key)) is None:
            return key, rule.code
    return None, None


def create_in(
    session: Session,
    *,
    actor: str,
    incident_type: str,
    title: str,
    severity: str,
    description: str = "",
    lat: float | None = None,
    lon: float | None = None,
    area_code: str | None = None,
    agency_code: str | None = None,
    started_at: datetime | None = None,
    links: list[tuple[str, str, dict[str, Any]]] = (),  # type: ignore[assignment]
    open_key: str | None = None,
    correlation: str | None = None,
    address: str | None = None,
) -> Incident:
    """Create an incident in the caller's transaction: code, SLA due time, SOP steps, links,
    journal entry and the assignment notice."""
    sop = sop_in(session, incident_type)
    if sop is None:
        raise Invalid(f"không có loại sự cố / unknown incident type {incident_type!r}")
    now = clock.now()
    started = started_at or now
    hours = sla_hours(session, incident_type, severity)
    if open_key is None and area_code:
        open_key, correlation = _free_key(session, incident_type, area_code)
    incident = Incident(
        code=f"tmp-{uuid.uuid4().hex}",  # replaced by the readable code once the id is known
        type=incident_type,
        title=title,
        description=description,
        severity=severity,
        status="new",
        lat=lat,
        lon=lon,
        area_code=area_code,
        agency_code=agency_code or sop.agency,
        assignees=[],
        started_at=started,
        due_at=started + timedelta(hours=hours) if hours else None,
        overdue=False,
        created_by=actor,
        updated_at=now,
        open_key=open_key,
        correlation=correlation,
        revision=1,
    )
    session.add(incident)
    session.flush()
    incident.code = f"SC-{started.year}-{incident.id:06d}"
    steps = instantiate(
        session, incident.id, sop, severity=severity, area_code=area_code, started_at=started
    )
    for kind, ref, snapshot in links:
        link_in(session, incident, kind, ref, snapshot, actor)
    record(
        session,
        actor,
        incident,
        "created",
        {
            "code": incident.code,
            "type": incident_type,
            "severity": severity,
            "steps": steps,
            "links": [f"{k}:{r}" for k, r, _s in links],
            "correlation": correlation,
        },
        address,
    )
    if incident.agency_code:
        notices.assignment(session, incident, [f"agency:{incident.agency_code}"])
    return incident


def create(
    database: Database,
    principal: Principal | None,
    body: IncidentIn,
    *,
    address: str | None = None,
) -> Changed:
    """By hand, from an alert (``alert_id``) or from citizen reports (``report_ids``)."""
    alert = get_alert(database, principal, body.alert_id) if body.alert_id else None
    with database.session() as session:
        reports = _reports(session, body.report_ids)
        first = reports[0] if reports else {}
        lat, lon = body.lat, body.lon
        if lat is None and alert and alert.get("entity_id"):
            found = entity_location_in(session, alert["entity_id"])
            if found:
                lon, lat = found
        if lat is None and first.get("lat") is not None:
            lat, lon = first.get("lat"), first.get("lon")
        agency = body.agency_code or (alert or {}).get("agency_code") or first.get("agency_code")
        if principal is not None and principal.role == "agency_officer":
            agency = agency if agency in principal.agencies else sorted(principal.agencies)[0]
        sop = sop_in(session, body.type)
        if sop is None:
            raise Invalid(f"không có loại sự cố / unknown incident type {body.type!r}")
        links: list[tuple[str, str, dict[str, Any]]] = []
        if alert:
            links.append(("alert", str(alert["id"]), _alert_snapshot(alert)))
            if alert.get("entity_id"):
                links.append(("entity", alert["entity_id"], {}))
        links += [("report", str(r["id"]), r) for r in reports]
        links += [("entity", e, {}) for e in body.entity_ids]
        incident = create_in(
            session,
            actor=_actor(principal),
            incident_type=body.type,
            title=body.title or (alert or {}).get("title") or first.get("title") or sop.name,
            severity=body.severity or (alert or {}).get("severity") or "warning",
            description=body.description,
            lat=lat,
            lon=lon,
            area_code=body.area_code or (alert or {}).get("area_code") or first.get("area_code"),
            agency_code=agency,
            started_at=body.started_at,
            links=links,
            address=address,
        )
        return incident_dict(incident), event_of(session, incident)


def _alert_snapshot(alert: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "rule", "title", "title_en", "severity", "state", "entity_id", "metric")
    return {k: alert.get(k) for k in (*keep, "area_code", "agency_code", "value", "started_at")}


def _incidents_statement(
    principal: Principal | None,
    *,
    status: str | None = None,
    incident_type: str | None = None,
    area: str | None = None,
    agency: str | None = None,
    overdue: bool | None = None,
    active: bool | None = None,
    alert_id: int | None = None,
) -> Any:
    """The SELECT of ``list_incidents`` (newest first, as far as the caller may see)."""
    # Plain rows, not ORM objects: a board reads hundreds of them per request, and a row
    # answers the same attribute names that ``incident_dict`` and ``visible`` read.
    statement = select(*Incident.__table__.columns).order_by(Incident.id.desc())
    if principal is not None and not principal.sees_everything:
        # The same reach as ``visible``: responsible, or named among the assignees (a JSON
        # list, searched as its text: each entry is a quoted string in it on both databases).
        assigned = cast(Incident.assignees, String)
        statement = statement.where(
            or_(
                Incident.agency_code.in_(sorted(principal.agencies)),
                *(assigned.contains(f'"agency:{a}"') for a in sorted(principal.agencies)),
                assigned.contains(f'"user:{principal.username}"'),
            )
        )
    for column, value in (
        (Incident.status, status),
        (Incident.type, incident_type),
        (Incident.area_code, area),
        (Incident.agency_code, agency),
    ):
        if value:
            statement = statement.where(column == value)
    if overdue is not None:
        statement = statement.where(Incident.overdue.is_(overdue))
    if active is True:
        statement = statement.where(Incident.status.in_(OPEN_STATUSES))
    elif active is False:
        statement = statement.where(Incident.status.not_in(OPEN_STATUSES))
    if alert_id is not None:
        statement = statement.where(
            Incident.id.in_(
                select(IncidentLink.incident_id).where(
                    IncidentLink.kind == "alert", IncidentLink.ref == str(alert_id)
                )
            )
        )
    return statement


def _incident_rows(
    session: Session, principal: Principal | None, statement: Any
) -> list[dict[str, Any]]:
    rows = session.execute(statement).all()
    return [incident_dict(r) for r in rows if visible(principal, r)]  # type: ignore[arg-type]


def list_incidents(
    database: Database,
    principal: Principal | None,
    *,
    status: str | None = None,
    incident_type: str | None = None,
    area: str | None = None,
    agency: str | None = None,
    overdue: bool | None = None,
    active: bool | None = None,
    alert_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Newest first, as far as the caller may see."""
    statement = _incidents_statement(
        principal,
        status=status,
        incident_type=incident_type,
        area=area,
        agency=agency,
        overdue=overdue,
        active=active,
        alert_id=alert_id,
    )
    with database.session() as session:
        return _incident_rows(session, principal, statement.limit(limit).offset(offset))


def board_columns(
    database: Database,
    principal: Principal | None,
    limits: dict[str, int],
    *,
    incident_type: str | None = None,
    area: str | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The board: for each status of ``limits`` its newest incidents (up to its limit), as
    ``list_incidents`` would list them, read in one transaction (one connection, not one per
    column)."""
    with database.session() as session:
        return {
            status: _incident_rows(
                session,
                principal,
                _incidents_statement(
                    principal, status=status, incident_type=incident_type, area=area
                ).limit(limit),
            )
            for status, limit in limits.items()
        }


def _timeline(
    database: Database, incident: Incident, notes: dict[int, IncidentNote], internal_ok: bool
) -> list[dict[str, Any]]:
    out = []
    for entry in journal.timeline(database, "incident", incident.id):
        summary = dict(entry.get("summary") or {})
        if entry["action"] in ("incident.note", "incident.file"):
            note = notes.get(int(summary.get("note_id", 0)))
            if note is None or (note.internal and not internal_ok):
                continue  # another agency's officer never sees an internal note, nor its trace
            summary["body"] = note.body
        out.append(
            {
                "at": iso(entry["at"]) if isinstance(entry["at"], datetime) else entry["at"],
                "actor": entry["actor"],
                "action": entry["action"],
                "summary": summary,
            }
        )
    return out


def get_incident(
    database: Database, principal: Principal | None, incident_id: int
) -> dict[str, Any]:
    """The incident with its SOP steps, links, notes and timeline (internal notes only for
    the responsible agency and the IOC's operators)."""
    with database.session() as session:
        incident = load(session, principal, incident_id)
        internal_ok = may_read_internal(principal, incident)
        steps = session.scalars(
            select(IncidentStep)
            .where(IncidentStep.incident_id == incident.id)
            .order_by(IncidentStep.position)
        ).all()
        links = session.scalars(
            select(IncidentLink)
            .where(IncidentLink.incident_id == incident.id)
            .order_by(IncidentLink.id)
        ).all()
        notes = {
            n.id: n
            for n in session.scalars(
                select(IncidentNote)
                .where(IncidentNote.incident_id == incident.id)
                .order_by(IncidentNote.id)
            ).all()
        }
        result = incident_dict(incident)
        result["steps"] = [step_dict(s) for s in steps]
        result["links"] = [link_dict(link) for link in links]
        result["notes"] = [
            {
                "id": n.id,
                "at": iso(n.at),
                "author": n.author,
                "internal": n.internal,
                "body": n.body,
                "attachment_name": n.attachment_name,
                "attachment_url": n.attachment_url,
                "file": (
                    {"media_type": n.file_media_type, "size": n.file_size}
                    if n.file_stored
                    else None
                ),
            }
            for n in notes.values()
            if internal_ok or not n.internal
        ]
        result["may_read_internal"] = internal_ok
        result["may_write"] = may_write(principal, incident)
        result["timeline"] = _timeline(database, incident, notes, internal_ok)
        return result


def change_status(
    database: Database,
    principal: Principal | None,
    incident_id: int,
    body: StatusIn,
    *,
    address: str | None = None,
) -> Changed:
    with database.session() as session:
        incident = _writable(session, principal, incident_id)
        previous = incident.status
        if body.status not in NEXT.get(previous, ()):
            raise Invalid(
                f"không thể chuyển từ {previous} sang {body.status} / "
                f"cannot go from {previous} to {body.status}",
                allowed=list(NEXT.get(previous, ())),
            )
        now = clock.now()
        if body.status == "reopen":
            incident.status, incident.resolved_at, incident.closed_at = "in_progress", None, None
            incident.overdue = False  # judged again against the due time by the checker
        else:
            incident.status = body.status
            if body.status == "resolved":
                incident.resolved_at = now
            if body.status == "closed":
                incident.closed_at = now
        if incident.status not in OPEN_STATUSES:
            incident.open_key = None  # a later signal of its ward opens a new incident
        _touch(incident)
        record(
            session,
            _actor(principal),
            incident,
            "reopened" if body.status == "reopen" else "status",
            {"from": previous, "to": incident.status, "note": body.note},
            address,
        )
        return incident_dict(incident), event_of(session, incident)


def assign(
    database: Database,
    principal: Principal | None,
    incident_id: int,
    body: AssignIn,
    *,
    address: str | None = None,
) -> Changed:
    """Set the responsible agency and assignees; a new incident becomes dispatched."""
    with database.session() as session:
        incident = _writable(session, principal, incident_id)
        before = (incident.agency_code, list(incident.assignees or []))
        incident.agency_code = body.agency_code or incident.agency_code
        incident.assignees = sorted(set(body.assignees))
        if incident.status == "new":
            incident.status = "dispatched"
        _touch(incident)
        record(
            session,
            _actor(principal),
            incident,
            "assigned",
            {
                "from": {"agency": before[0], "assignees": before[1]},
                "to": {"agency": incident.agency_code, "assignees": incident.assignees},
            },
            address,
        )
        added = [a for a in incident.assignees if a not in before[1]]
        if incident.agency_code != before[0]:
            added.append(f"agency:{incident.agency_code}")
        if added:
            notices.assignment(session, incident, added)
        return incident_dict(incident), event_of(session, incident)


def add_note(
    database: Database,
    principal: Principal | None,
    incident_id: int,
    body: NoteIn,
    *,
    address: str | None = None,
) -> Changed:
    with database.session() as session:
        incident = _writable(session, principal, incident_id)
        if body.internal and not may_read_internal(principal, incident):
            raise Invalid(
                "chỉ cơ quan chủ trì và cán bộ vận hành ghi chú nội bộ / internal notes are "
                "for the responsible agency and IOC operators"
            )
        note = IncidentNote(
            incident_id=incident.id,
            at=clock.now(),
            author=_actor(principal),
            internal=body.internal,
            body=body.body,
            attachment_name=body.attachment_name,
            attachment_url=body.attachment_url,
        )
        session.add(note)
        session.flush()
        _touch(incident)
        # The body stays in the note (hidden from those who may not read it); the journal
        # holds only its id, so the audit trail never leaks an internal note.
        record(
            session,
            _actor(principal),
            incident,
            "note",
            {"note_id": note.id, "internal": body.internal, "attachment": body.attachment_name},
            address,
        )
        return incident_dict(incident), event_of(session, incident)


def _check_data(step: IncidentStep, data: dict[str, Any]) -> dict[str, Any]:
    fields = {f["code"]: f for f in step.fields or []}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise Invalid("trường không có trong bước / fields not in this step", fields=unknown)
    kinds: dict[str, type | tuple[type, ...]] = {
        "text": str,
        "number": (int, float),
        "yes_no": bool,
    }
    for code, field in fields.items():
        if code not in data:
            if field.get("required"):
                raise Invalid(f"thiếu trường bắt buộc / required field missing: {code}")
            continue
        value = data[code]
        wanted = kinds[field.get("kind", "text")]
        if isinstance(value, bool) and field.get("kind") != "yes_no":
            raise Invalid(f"trường {code}: sai kiểu / wrong type")
        if not isinstance(value, wanted):
            raise Invalid(f"trường {code}: sai kiểu / wrong type ({field.get('kind')})")
        if isinstance(value, str) and len(value) > 2000:
            raise Invalid(f"trường {code}: quá dài / too long")
    return data


def _may_do(principal: Principal | None, step: IncidentStep) -> bool:
    """An agency officer completes the steps of their agency and the officers' steps;
    operators, leaders and admins any step (they stand in for whoever is missing)."""
    if principal is None or principal.role != "agency_officer":
        return True
    if step.agency_code is not None:
        return step.agency_code in principal.agencies
    return step.role == "agency_officer"


def complete_step(
    database: Database,
    principal: Principal | None,
    incident_id: int,
    step_id: int,
    body: StepDoneIn,
    *,
    address: str | None = None,
) -> Changed:
    """Record who completed the step, when, and the data the step asks for."""
    with database.session() as session:
        incident = _writable(session, principal, incident_id)
        step = session.get(IncidentStep, step_id)
        if step is None or step.incident_id != incident.id:
            raise NotFound(f"không có bước / no step {step_id}")
        if step.status == "done":
            raise Invalid("bước đã hoàn thành / the step is already done")
        if not _may_do(principal, step):
            raise Invalid(
                f"bước này do {step.agency_code or step.role} thực hiện / "
                f"this step is for {step.agency_code or step.role}"
            )
        if incident.status not in OPEN_STATUSES:
            raise Invalid(f"sự cố đang ở trạng thái / the incident is {incident.status}")
        step.data = _check_data(step, body.data)
        step.status, step.done_by, step.done_at = "done", _actor(principal), clock.now()
        if incident.status in ("new", "dispatched"):
            incident.status = "in_progress"
        _touch(incident)
        record(
            session,
            _actor(principal),
            incident,
            "step_done",
            {"step": step.code, "title": step.title, "data": step.data, "note": body.note},
            address,
        )
        return incident_dict(incident), event_of(session, incident)


def add_links(
    database: Database,
    principal: Principal | None,
    incident_id: int,
    body: LinkIn,
    *,
    address: str | None = None,
) -> Changed:
    alerts = [get_alert(database, principal, a) for a in body.alert_ids]
    with database.session() as session:
        incident = _writable(session, principal, incident_id)
        actor = _actor(principal)
        added = [
            f"alert:{a['id']}"
            for a in alerts
            if link_in(session, incident, "alert", str(a["id"]), _alert_snapshot(a), actor)
        ]
        added += [
            f"report:{r['id']}"
            for r in _reports(session, body.report_ids)
            if link_in(session, incident, "report", str(r["id"]), r, actor)
        ]
        added += [
            f"entity:{e}"
            for e in body.entity_ids
            if link_in(session, incident, "entity", e, {}, actor)
        ]
        if added:
            _touch(incident)
            record(session, actor, incident, "linked", {"links": added}, address)
        return incident_dict(incident), event_of(session, incident)

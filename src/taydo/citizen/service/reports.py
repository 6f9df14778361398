"""Citizen reports: filing (area by point-in-area, agency by the routing table, due time by the
service's SLA), the operators' actions (acknowledge, start, close, route, merge as duplicate),
the reporter's (reopen within N days, rate 1–5 after closing), duplicate suggestions, and the
counts the KPI engine reads. Every change is journalled; agency officers see only their
agencies' reports."""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from taydo.alerts.messages import Message, enqueue_message
from taydo.auth import journal
from taydo.citizen.models import CitizenReport, CitizenService
from taydo.citizen.service.catalogue import agency_for
from taydo.citizen.service.keys import key_id_in
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Conflict, Forbidden, Invalid, NotFound, TaydoError
from taydo.geo.service import area_code_in, area_locator_in

__all__ = [
    "NewReport",
    "act",
    "create_report",
    "create_reports",
    "distance_m",
    "due_for_reminder",
    "duplicates",
    "event_dict",
    "get_by_token",
    "get_report",
    "link_incident",
    "list_reports",
    "merge",
    "on_time_counts",
    "open311_requests",
    "public_dict",
    "rate",
    "reopen",
    "report_dict",
    "route",
    "satisfaction",
]

EARTH_M = 6_371_000.0
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_TEXT = 4000


@dataclass
class NewReport:
    """What a reporter sends (the Open311 POST or the public form), not yet checked."""

    service_code: str
    lat: float | None
    lon: float | None
    description: str = ""
    address: str = ""
    attributes: dict[str, Any] | None = None
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    public: bool = True
    area_code: str | None = None  # a ward picked on the form when the map finds none
    photo: str | None = None
    api_key_id: int | None = None
    actor: str = "citizen"
    # A registered app's key, not yet checked: filing checks it in its own transaction (then
    # sets ``api_key_id`` and the actor ``app:<id>``); an unknown or revoked key refuses (403).
    api_key: str | None = None


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def open311_status(status: str) -> str:
    return "closed" if status == "closed" else "open"


def report_dict(row: CitizenReport, service: CitizenService | None = None) -> dict[str, Any]:
    """Everything about a report (for those allowed to see it: contacts included)."""
    return {
        "id": row.id,
        "service_code": row.service_code,
        "service_name": service.name if service else row.service_code,
        "service_name_en": (service.name_en or service.name) if service else row.service_code,
        "description": row.description,
        "lat": row.lat,
        "lon": row.lon,
        "address": row.address,
        "area_code": row.area_code,
        "agency_code": row.agency_code,
        "status": row.status,
        "open311_status": open311_status(row.status),
        "status_notes": row.status_notes,
        "attributes": dict(row.attributes or {}),
        "contact": {
            "name": row.contact_name,
            "email": row.contact_email,
            "phone": row.contact_phone,
        },
        "public": row.public,
        "has_photo": row.photo is not None,
        "requested_at": iso(row.requested_at),
        "updated_at": iso(row.updated_at),
        "due_at": iso(row.due_at),
        "acknowledged_at": iso(row.acknowledged_at),
        "closed_at": iso(row.closed_at),
        "closed_by": row.closed_by,
        "reopened": row.reopened,
        "rating": row.rating,
        "duplicate_of": row.duplicate_of,
        "incident_id": row.incident_id,
        "overdue": row.status != "closed" and row.due_at < clock.now(),
        "url": f"/citizen/reports/{row.id}",
    }


def public_dict(report: dict[str, Any]) -> dict[str, Any]:
    """What anyone may see of a report: no contact, no photo unless the report is public."""
    shown = {k: v for k, v in report.items() if k not in ("contact", "closed_by")}
    shown["has_photo"] = report["has_photo"] and report["public"]
    return shown


def event_dict(row: CitizenReport, service: CitizenService | None) -> dict[str, Any]:
    """The ``citizen.report.*`` bus payload (the contract shared with incidents)."""
    return {
        "id": row.id,
        "service_code": row.service_code,
        "title": service.name if service else row.service_code,
        "status": open311_status(row.status),
        "agency_code": row.agency_code,
        "area_code": row.area_code,
        "lat": row.lat,
        "lon": row.lon,
        "requested_at": iso(row.requested_at),
        "url": f"/citizen/reports/{row.id}",
    }


# -- filing ---------------------------------------------------------------------------------


def _clean_text(value: str, name: str, limit: int) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise Invalid(f"{name}: quá dài / too long (at most {limit} characters)")
    # Control characters (but tab and line breaks): NUL is refused by PostgreSQL, the others
    # by every XML reader of the Open311 answers.
    if _CONTROL.search(value):
        raise Invalid(f"{name}: ký tự không hợp lệ / invalid character")
    return value


def check_attributes(service: CitizenService, given: dict[str, Any]) -> dict[str, Any]:
    """The service's attributes from ``given`` (code → value), checked against its definition."""
    defined = {a["code"]: a for a in service.attributes or []}
    out: dict[str, Any] = {}
    for code, value in given.items():
        spec = defined.get(code)
        if spec is None:
            raise Invalid(f"thuộc tính không có / unknown attribute {code!r}", attribute=code)
        values = value if isinstance(value, list) else [value]
        values = [str(v).strip() for v in values if str(v).strip()]
        if not values:
            continue
        keys = {v["key"] for v in spec.get("values", [])}
        if spec["datatype"] == "number":
            try:
                number = float(values[0])
            except ValueError:
                raise Invalid(f"{code}: cần một số / a number is needed", attribute=code) from None
            if not math.isfinite(number):
                raise Invalid(f"{code}: cần một số / a number is needed", attribute=code)
            out[code] = number
        elif spec["datatype"] == "singlevaluelist":
            if len(values) != 1 or values[0] not in keys:
                raise Invalid(f"{code}: giá trị không hợp lệ / not one of {sorted(keys)}")
            out[code] = values[0]
        elif spec["datatype"] == "multivaluelist":
            if any(v not in keys for v in values):
                raise Invalid(f"{code}: giá trị không hợp lệ / not among {sorted(keys)}")
            out[code] = values
        else:
            out[code] = _clean_text(values[0], code, 1000)
    for code, spec in defined.items():
        if spec.get("required") and spec.get("variable", True) and code not in out:
            raise Invalid(f"thiếu thuộc tính / attribute {code} is required", attribute=code)
    return out


def _new_row(
    session: Session,
    new: NewReport,
    now: datetime,
    agencies: dict[tuple[str, str | None], str | None],
    keys: dict[str, int | None],
    locate: Callable[[float, float], str | None],
) -> tuple[dict[str, Any], CitizenService]:
    """Check one report and make its row's values (not inserted); ``agencies`` and ``keys``
    cache the routing answers and key checks of one transaction, so a batch reads each once;
    ``locate`` is the batch's point-in-area (``taydo.geo``'s in-memory locator)."""
    if new.api_key is not None:
        if new.api_key not in keys:
            keys[new.api_key] = key_id_in(session, new.api_key)
        key_id = keys[new.api_key]
        if key_id is None:
            raise Forbidden("api_key không hợp lệ / invalid api_key")
        new.api_key_id, new.actor = key_id, f"app:{key_id}"
    if new.lat is None or new.lon is None:
        raise Invalid("cần vị trí (lat, long) / a location (lat and long) is required")
    if not (math.isfinite(new.lat) and math.isfinite(new.lon)):
        raise Invalid("vị trí không hợp lệ / invalid location")
    if not (-90 <= new.lat <= 90 and -180 <= new.lon <= 180):
        raise Invalid("vị trí ngoài phạm vi / location out of range")
    description = _clean_text(new.description, "description", MAX_TEXT)
    place = _clean_text(new.address, "address_string", 400)
    # Session.get: a batch reads each service once (the identity map answers the rest).
    service = session.get(CitizenService, new.service_code)
    if service is None:
        raise NotFound(
            f"không có loại phản ánh / no service {new.service_code!r}",
            service_code=new.service_code,
        )
    attributes = check_attributes(service, new.attributes or {})
    contact = (
        _clean_text(new.contact_name, "name", 200),
        _clean_text(new.contact_email, "email", 200),
        _clean_text(new.contact_phone, "phone", 40),
    )
    area = locate(new.lon, new.lat)
    if area is None and new.area_code:
        area = area_code_in(session, new.area_code)
    route_key = (service.code, area)
    if route_key not in agencies:
        agencies[route_key] = agency_for(session, service.code, area)
    values = {
        "token": secrets.token_urlsafe(18),
        "service_code": service.code,
        "description": description,
        "lat": new.lat,
        "lon": new.lon,
        "address": place,
        "area_code": area,
        "agency_code": agencies[route_key],
        "status": "open",
        "status_notes": "",
        "attributes": attributes,
        "contact_name": contact[0],
        "contact_email": contact[1],
        "contact_phone": contact[2],
        "public": new.public,
        "photo": new.photo,
        "requested_at": now,
        "updated_at": now,
        "due_at": now + timedelta(hours=service.sla_hours),
        "reopened": 0,
        "api_key_id": new.api_key_id,
        "revision": 1,
    }
    return values, service


# One statement for a batch of new reports: a Core multi-row INSERT … RETURNING (SQLAlchemy's
# "insertmanyvalues" on SQLite and PostgreSQL), built once. The ORM's unit of work cost more
# per report than the rest of filing it (state tracking, one identity-map entry per row).
_REPORTS = cast(Table, CitizenReport.__table__)
_INSERT_REPORTS = insert(_REPORTS).returning(_REPORTS.c.id, _REPORTS.c.token)


Filed = tuple[dict[str, Any], dict[str, Any]]


def create_reports(
    database: Database, batch: Sequence[tuple[NewReport, str | None]]
) -> list[Filed | TaydoError]:
    """File many reports (each with its client address) in ONE transaction: a group commit.
    Each answer is (the report with its token, the bus event), or the error that refused that
    report alone (bad input refuses one report, not the batch). Nothing is answered before the
    commit: if it fails, this raises and no report of the batch was filed."""
    now = clock.now()
    answers: list[Filed | TaydoError | None] = [None] * len(batch)
    filed: list[tuple[int, dict[str, Any], CitizenService, NewReport, str | None]] = []
    agencies: dict[tuple[str, str | None], str | None] = {}
    keys: dict[str, int | None] = {}
    with database.session() as session:
        locate = area_locator_in(session)
        for index, (new, address) in enumerate(batch):
            try:
                values, service = _new_row(session, new, now, agencies, keys, locate)
            except TaydoError as exc:
                answers[index] = exc
                continue
            filed.append((index, values, service, new, address))
        ids: dict[str, int] = {}
        if filed:
            # Matched back by token (unique), not by position: no reliance on the order
            # in which a backend returns the rows of a multi-row INSERT.
            inserted = session.execute(_INSERT_REPORTS, [values for _i, values, *_r in filed])
            ids = {token: int(report_id) for report_id, token in inserted}
        rows = [
            (index, CitizenReport(id=ids[values["token"]], **values), service, new, address)
            for index, values, service, new, address in filed
        ]
        # One journal entry per report, chained in order, in one head update and one INSERT.
        journal.record_many(
            session,
            [
                {
                    "actor": new.actor,
                    "action": "citizen.report_created",
                    "object_type": "citizen_report",
                    "object_id": row.id,
                    "summary": {
                        "service": row.service_code,
                        "area": row.area_code,
                        "agency": row.agency_code,
                    },
                    "address": address,
                }
                for _index, row, _service, new, address in rows
            ],
        )
    # The rows are transient (never added to the session): their answers read only the
    # values written above and the defaults of a new report (no ack, no rating, no link).
    for index, row, service, _new, _address in rows:
        report = report_dict(row, service)
        report["token"] = row.token
        answers[index] = (report, event_dict(row, service))
    return [a for a in answers if a is not None]


def create_report(
    database: Database, new: NewReport, *, address: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """File a report; returns (the report with its token, the bus event)."""
    answer = create_reports(database, [(new, address)])[0]
    if isinstance(answer, TaydoError):
        raise answer
    return answer


# -- reading --------------------------------------------------------------------------------


def _visible(principal: Principal | None, row: CitizenReport) -> bool:
    return principal is None or principal.may_see_agency(row.agency_code)


def _load(session: Session, principal: Principal | None, report_id: int) -> CitizenReport:
    row = session.get(CitizenReport, report_id)
    if row is None or not _visible(principal, row):  # 404 alike: no existence leak
        raise NotFound(f"không có phản ánh / no report {report_id}")
    return row


def get_report(database: Database, principal: Principal | None, report_id: int) -> dict[str, Any]:
    with database.session() as session:
        row = _load(session, principal, report_id)
        report = report_dict(row, session.get(CitizenService, row.service_code))
    report["history"] = journal.timeline(database, "citizen_report", report_id)
    return report


def get_by_token(database: Database, token: str) -> dict[str, Any]:
    """The public view of a report, found by the reporter's token."""
    with database.session() as session:
        row = session.scalar(select(CitizenReport).where(CitizenReport.token == token[:40]))
        if row is None:
            raise NotFound("không có phản ánh / no such report")
        report = public_dict(report_dict(row, session.get(CitizenService, row.service_code)))
        report["token"] = row.token
        return report


def list_reports(
    database: Database,
    principal: Principal | None,
    *,
    status: str | None = None,
    service: str | None = None,
    area: str | None = None,
    agency: str | None = None,
    open_only: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The operators' queue, newest first, scoped to the caller's agencies."""
    statement = select(CitizenReport).order_by(CitizenReport.id.desc())
    if principal is not None and not principal.sees_everything:
        statement = statement.where(CitizenReport.agency_code.in_(sorted(principal.agencies)))
    for column, value in (
        (CitizenReport.status, status),
        (CitizenReport.service_code, service),
        (CitizenReport.area_code, area),
        (CitizenReport.agency_code, agency),
    ):
        if value:
            statement = statement.where(column == value)
    if open_only:
        statement = statement.where(CitizenReport.status != "closed")
    with database.session() as session:
        services = {s.code: s for s in session.scalars(select(CitizenService))}
        rows = session.scalars(statement.limit(min(limit, 1000)).offset(offset)).all()
        return [report_dict(r, services.get(r.service_code)) for r in rows]


def open311_requests(
    database: Database,
    *,
    ids: Sequence[int] | None = None,
    service_code: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    statuses: Sequence[str] = (),
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """The Open311 ``GET requests``: public fields, newest first. ``ids`` overrides the rest
    (the spec); without dates the span is the last 90 days (the spec's default).

    Reads only the public columns with SQLAlchemy Core (no ORM objects): a list answers up to
    1,000 reports and is the hot read of every Open311 client."""
    r = CitizenReport
    statement = select(
        r.id,
        r.status,
        r.status_notes,
        r.service_code,
        r.description,
        r.agency_code,
        r.requested_at,
        r.updated_at,
        r.due_at,
        r.address,
        r.lat,
        r.lon,
        r.public,
        r.photo.is_not(None).label("has_photo"),
    )
    if ids is not None:
        statement = statement.where(r.id.in_(list(ids)[:1000]))
    else:
        if service_code:
            statement = statement.where(r.service_code == service_code)
        if start is None and end is None:
            start = clock.now() - timedelta(days=90)
        if start is not None:
            statement = statement.where(r.requested_at >= start)
        if end is not None:
            statement = statement.where(r.requested_at <= end)
        wanted = set(statuses)
        if wanted == {"closed"}:
            statement = statement.where(r.status == "closed")
        elif wanted == {"open"}:
            statement = statement.where(r.status != "closed")
    statement = statement.order_by(r.requested_at.desc(), r.id.desc()).limit(limit)
    with database.session() as session:
        names = {
            code: (name, name_en or name)
            for code, name, name_en in session.execute(
                select(CitizenService.code, CitizenService.name, CitizenService.name_en)
            )
        }
        out = []
        for row in session.execute(statement):
            name, name_en = names.get(row.service_code, (row.service_code, row.service_code))
            out.append(
                {
                    "id": row.id,
                    "open311_status": open311_status(row.status),
                    "status_notes": row.status_notes,
                    "service_code": row.service_code,
                    "service_name": name,
                    "service_name_en": name_en,
                    "description": row.description,
                    "agency_code": row.agency_code,
                    "requested_at": iso(row.requested_at),
                    "updated_at": iso(row.updated_at),
                    "due_at": iso(row.due_at),
                    "address": row.address,
                    "lat": row.lat,
                    "lon": row.lon,
                    "has_photo": bool(row.has_photo) and row.public,
                }
            )
        return out


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(a)))


def duplicates(
    database: Database,
    *,
    service_code: str,
    lat: float,
    lon: float,
    radius_m: float,
    hours: float,
    exclude: int | None = None,
    at: datetime | None = None,
    limit: int = 10,
) -> list[dict[str, Any]]:
    """Reports of the same category within ``radius_m`` metres and ``hours`` hours of ``at``
    (now), nearest first; not closed, not themselves merged: the suggestions."""
    if not (math.isfinite(lat) and math.isfinite(lon)) or not -90 <= lat <= 90:
        return []
    moment = at or clock.now()
    dlat = radius_m / 111_320.0
    dlon = radius_m / (111_320.0 * max(0.01, math.cos(math.radians(lat))))
    statement = (
        select(CitizenReport)
        .where(
            CitizenReport.service_code == service_code,
            CitizenReport.requested_at >= moment - timedelta(hours=hours),
            CitizenReport.requested_at <= moment + timedelta(hours=hours),
            CitizenReport.status != "closed",
            CitizenReport.duplicate_of.is_(None),
            CitizenReport.lat.between(lat - dlat, lat + dlat),
            CitizenReport.lon.between(lon - dlon, lon + dlon),
        )
        .limit(200)
    )
    if exclude is not None:
        statement = statement.where(CitizenReport.id != exclude)
    with database.session() as session:
        service = session.get(CitizenService, service_code)
        found = []
        for row in session.scalars(statement):
            distance = distance_m(lat, lon, row.lat, row.lon)
            if distance <= radius_m:
                item = public_dict(report_dict(row, service))
                item["distance_m"] = round(distance)
                found.append(item)
        found.sort(key=lambda r: (r["distance_m"], -r["id"]))
        return found[:limit]


# -- acting ---------------------------------------------------------------------------------

Change = Callable[[Session, CitizenReport], dict[str, Any]]


def _change(
    database: Database,
    principal: Principal | None,
    row_of: Callable[[Session], CitizenReport],
    action: str,
    change: Change,
    *,
    actor: str,
    address: str | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    with database.session() as session:
        row = row_of(session)
        summary = change(session, row)
        row.updated_at, row.revision = clock.now(), row.revision + 1
        journal.record(
            session,
            actor=actor,
            action=f"citizen.{action}",
            object_type="citizen_report",
            object_id=row.id,
            summary=summary,
            address=address,
        )
        service = session.get(CitizenService, row.service_code)
        return report_dict(row, service), event_dict(row, service)


def _writable(principal: Principal, report_id: int) -> Callable[[Session], CitizenReport]:
    def row_of(session: Session) -> CitizenReport:
        row = _load(session, principal, report_id)
        if not principal.may_write_agency(row.agency_code):
            raise NotFound(f"không có phản ánh / no report {report_id}")
        return row

    return row_of


NEXT = {
    "acknowledged": ("open",),
    "in_progress": ("open", "acknowledged"),
    "closed": ("open", "acknowledged", "in_progress"),
}


def act(
    database: Database,
    principal: Principal,
    report_id: int,
    status: str,
    *,
    note: str = "",
    address: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Acknowledge, start work on, or close (with a note) a report."""
    note = _clean_text(note, "note", MAX_TEXT)
    if status not in NEXT:
        raise Invalid(f"trạng thái không hợp lệ / unknown status {status!r}")
    if status == "closed" and not note:
        raise Invalid("cần ghi chú khi đóng phản ánh / a note is required to close a report")

    def change(_session: Session, row: CitizenReport) -> dict[str, Any]:
        if row.status not in NEXT[status]:
            raise Conflict(
                f"phản ánh đang ở trạng thái / the report is {row.status}, cannot become {status}"
            )
        before, row.status = row.status, status
        now = clock.now()
        if status == "acknowledged" or (status == "in_progress" and row.acknowledged_at is None):
            row.acknowledged_at = now
        if status == "closed":
            row.closed_at, row.closed_by = now, principal.username
        if note:
            row.status_notes = note
        return {"from": before, "to": status, "note": note}

    return _change(
        database,
        principal,
        _writable(principal, report_id),
        status,
        change,
        actor=principal.username,
        address=address,
    )


def route(
    database: Database,
    principal: Principal,
    report_id: int,
    agency_code: str,
    *,
    known_agencies: set[str],
    address: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Hand a report to another agency (an operator's correction of the routing table)."""
    if agency_code not in known_agencies:
        raise Invalid(f"không có cơ quan / unknown agency {agency_code!r}")

    def change(_session: Session, row: CitizenReport) -> dict[str, Any]:
        if row.status == "closed":
            raise Conflict("phản ánh đã đóng / the report is closed")
        before, row.agency_code = row.agency_code, agency_code
        return {"from": before, "to": agency_code}

    return _change(
        database,
        principal,
        _writable(principal, report_id),
        "routed",
        change,
        actor=principal.username,
        address=address,
    )


def merge(
    database: Database,
    principal: Principal,
    report_id: int,
    into: int,
    *,
    address: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Close a report as a duplicate of ``into`` (which stays open and gets the work)."""
    if into == report_id:
        raise Invalid("không thể gộp vào chính nó / cannot merge a report into itself")

    def change(session: Session, row: CitizenReport) -> dict[str, Any]:
        target = _load(session, principal, into)
        if target.duplicate_of is not None:
            raise Conflict(f"phản ánh #{into} cũng là bản trùng / #{into} is itself a duplicate")
        if row.status == "closed":
            raise Conflict("phản ánh đã đóng / the report is closed")
        row.duplicate_of, row.status = target.id, "closed"
        row.closed_at, row.closed_by = clock.now(), principal.username
        row.status_notes = f"Trùng với phản ánh #{target.id} / duplicate of #{target.id}"
        return {"into": target.id}

    return _change(
        database,
        principal,
        _writable(principal, report_id),
        "merged",
        change,
        actor=principal.username,
        address=address,
    )


def _by_token(token: str, *, lock: bool = False) -> Callable[[Session], CitizenReport]:
    def row_of(session: Session) -> CitizenReport:
        statement = select(CitizenReport).where(CitizenReport.token == token[:40])
        row = session.scalar(statement.with_for_update() if lock else statement)
        if row is None:
            raise NotFound("không có phản ánh / no such report")
        return row

    return row_of


def reopen(
    database: Database, token: str, *, days: float, note: str = "", address: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The reporter reopens their closed report within ``days`` of its closing."""
    note = _clean_text(note, "note", MAX_TEXT)

    def change(_session: Session, row: CitizenReport) -> dict[str, Any]:
        if row.status != "closed" or row.closed_at is None:
            raise Conflict("phản ánh chưa đóng / the report is not closed")
        if row.duplicate_of is not None:
            raise Conflict("phản ánh đã gộp vào phản ánh khác / the report was merged")
        if clock.now() - row.closed_at > timedelta(days=days):
            raise Conflict(
                f"đã quá {days:g} ngày kể từ khi đóng / more than {days:g} days since closing"
            )
        row.status, row.closed_at, row.closed_by = "open", None, None
        row.reopened += 1
        row.rating = row.rated_at = None
        row.reminded_at = None
        row.status_notes = note
        return {"note": note, "times": row.reopened}

    return _change(
        database, None, _by_token(token), "reopened", change, actor="citizen", address=address
    )


def rate(
    database: Database, token: str, rating: int, *, address: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The reporter's satisfaction (1–5) with a closed report: once per resolution (a report
    reopened, which clears its rating, may be rated again once resolved again)."""
    if rating not in (1, 2, 3, 4, 5):
        raise Invalid("đánh giá từ 1 đến 5 / a rating is 1 to 5")

    def change(_session: Session, row: CitizenReport) -> dict[str, Any]:
        if row.status != "closed" or row.duplicate_of is not None:
            raise Conflict("chỉ đánh giá phản ánh đã xử lý xong / only a resolved report is rated")
        if row.rating is not None:
            # Read under a row lock (``_by_token(lock=True)``): of two ratings racing for
            # the same report on PostgreSQL, the second waits and then sees the first.
            raise Conflict(
                "phản ánh này đã được đánh giá / this report has already been rated",
                rating=row.rating,
            )
        row.rating, row.rated_at = rating, clock.now()
        return {"rating": rating}

    return _change(
        database,
        None,
        _by_token(token, lock=True),
        "rated",
        change,
        actor="citizen",
        address=address,
    )


def link_incident(database: Database, incident_id: int, report_ids: Sequence[int]) -> list[int]:
    """Record the incident the reports were linked to (heard on ``incidents.changed``)."""
    changed = []
    with database.session() as session:
        for row in session.scalars(
            select(CitizenReport).where(CitizenReport.id.in_(list(report_ids)[:1000]))
        ):
            if row.incident_id != incident_id:
                row.incident_id = incident_id
                changed.append(row.id)
                journal.record(
                    session,
                    actor="system",
                    action="citizen.incident_linked",
                    object_type="citizen_report",
                    object_id=row.id,
                    summary={"incident": incident_id},
                )
    return changed


# -- the KPI engine's counts ----------------------------------------------------------------


def _scoped(statement: Any, agency_code: str | None, area_code: str | None) -> Any:
    if agency_code is not None:
        statement = statement.where(CitizenReport.agency_code == agency_code)
    if area_code is not None:
        statement = statement.where(CitizenReport.area_code == area_code)
    # A merged duplicate is not work done: its original carries the count.
    return statement.where(CitizenReport.duplicate_of.is_(None))


def on_time_counts(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    agency_code: str | None = None,
    area_code: str | None = None,
) -> tuple[int, int]:
    """(reports closed by their due time, reports due or closed) in [start, end): a report
    counts once, in the window of its closing if it closed there, else of its due time."""
    closed_in = (CitizenReport.closed_at >= start) & (CitizenReport.closed_at < end)
    due_in = (
        (CitizenReport.due_at >= start)
        & (CitizenReport.due_at < end)
        & (CitizenReport.closed_at.is_(None) | (CitizenReport.closed_at >= end))
    )
    on_time = session.scalar(
        _scoped(
            select(func.count()).where(closed_in, CitizenReport.closed_at <= CitizenReport.due_at),
            agency_code,
            area_code,
        )
    )
    total = session.scalar(
        _scoped(select(func.count()).where(closed_in | due_in), agency_code, area_code)
    )
    return int(on_time or 0), int(total or 0)


def satisfaction(
    session: Session, *, start: datetime, end: datetime, agency_code: str | None = None
) -> tuple[float | None, int]:
    """(mean rating 1–5, number of ratings) of the ratings given in [start, end)."""
    statement = select(func.avg(CitizenReport.rating), func.count(CitizenReport.rating)).where(
        CitizenReport.rating.is_not(None),
        CitizenReport.rated_at >= start,
        CitizenReport.rated_at < end,
    )
    if agency_code is not None:
        statement = statement.where(CitizenReport.agency_code == agency_code)
    mean, count = session.execute(statement).one()
    return (None if mean is None else float(mean)), int(count or 0)


def due_for_reminder(
    database: Database, *, before_h: float, limit: int = 200
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Remind the agencies of open reports due within ``before_h`` hours (once per report, or
    once more after a reopening): a message through the alerts outbox, written in the same
    transaction that marks the report reminded. Returns the reports reminded."""
    now = clock.now()
    out = []
    with database.session() as session:
        rows = session.scalars(
            select(CitizenReport)
            .where(
                CitizenReport.status != "closed",
                CitizenReport.reminded_at.is_(None),
                CitizenReport.due_at <= now + timedelta(hours=before_h),
            )
            .order_by(CitizenReport.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            row.reminded_at = now
            service = session.get(CitizenService, row.service_code)
            name = service.name if service else row.service_code
            name_en = (service.name_en or name) if service else row.service_code
            overdue = row.due_at <= now
            enqueue_message(
                session,
                Message(
                    kind="citizen.overdue" if overdue else "citizen.due_soon",
                    title=f"Phản ánh #{row.id} ({name}) "
                    f"{'đã quá hạn' if overdue else 'sắp đến hạn'} xử lý: {iso(row.due_at)}",
                    title_en=f"Citizen report #{row.id} ({name_en}) "
                    f"{'is overdue' if overdue else 'is due soon'}: {iso(row.due_at)}",
                    body=row.description[:500],
                    link=f"/citizen/reports/{row.id}",
                    agency_code=row.agency_code,
                    area_code=row.area_code,
                    severity="warning" if overdue else "info",
                    extra={"report_id": row.id, "due_at": iso(row.due_at)},
                ),
            )
            out.append((report_dict(row, service), event_dict(row, service)))
    return out

"""The hand actions on directives: issue, cancel (the leader), accept or return (the leader, or
whoever issued the directive: ``may_follow_up``); acknowledge,
reject, report progress, complete (the assigned agency). Each runs in one transaction that
checks the caller's scope, records the change in the audit journal and queues the agencies'
notifications; the caller publishes ``directives.changed`` after it returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taydo.auth import journal
from taydo.catalog.service import list_agencies
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Conflict, Forbidden, Invalid, NotFound
from taydo.directives.models import Assignment, Directive, DirectiveFile, Report
from taydo.directives.service.common import (
    ACTIVE,
    PRIORITIES,
    WORKING,
    directive_dict,
    load_directive,
    may_follow_up,
)
from taydo.directives.service.notices import notify

__all__ = [
    "accept",
    "acknowledge",
    "cancel",
    "catalog_agencies",
    "check_follow_up",
    "complete",
    "issue",
    "reject",
    "report_progress",
    "return_completion",
]

_PRIORITY_CODES = {c.code for c in PRIORITIES}


def catalog_agencies(database: Database) -> dict[str, str | None]:
    """Every agency of the catalog: code → its area."""
    rows, _total = list_agencies(database, limit=100_000)
    return {row["code"]: row["area_code"] for row in rows}


def _journal(
    session: Session,
    principal: Principal,
    action: str,
    directive: Directive,
    summary: dict[str, Any],
    address: str | None,
) -> None:
    journal.record(
        session,
        actor=principal.username,
        action=f"directive.{action}",
        object_type="directive",
        object_id=str(directive.id),
        summary=summary,
        address=address,
    )


def _touch(directive: Directive, now: datetime) -> None:
    directive.updated_at = now
    directive.revision += 1


def _settle(directive: Directive, assignments: Sequence[Assignment], now: datetime) -> None:
    """A directive is completed once no agency owes anything (all accepted or rejected)."""
    if directive.status != "open":
        return
    if assignments and all(a.status in ("accepted", "rejected") for a in assignments):
        directive.status, directive.closed_at = "completed", now


def issue(
    database: Database,
    principal: Principal,
    *,
    title: str,
    agencies: Sequence[str],
    due_at: datetime,
    description: str = "",
    priority: str = "normal",
    incident_id: int | None = None,
    kpi_code: str | None = None,
    address: str | None = None,
) -> dict[str, Any]:
    """A new directive with one assignment per agency of the catalog (others are refused);
    the agencies are notified."""
    title = title.strip()
    codes = sorted({code.strip() for code in agencies if code.strip()})
    now = clock.now()
    if not title:
        raise Invalid("cần tiêu đề / a title is required")
    if not codes:
        raise Invalid("cần ít nhất một cơ quan được giao / assign at least one agency")
    if priority not in _PRIORITY_CODES:
        raise Invalid(f"mức ưu tiên không hợp lệ / unknown priority {priority!r}")
    if due_at.tzinfo is None:
        raise Invalid("hạn cần có múi giờ / the deadline needs a UTC offset")
    if due_at <= now:
        raise Invalid("hạn phải ở tương lai / the deadline must be in the future")
    agency_areas = catalog_agencies(database)
    unknown = sorted(set(codes) - set(agency_areas))
    if unknown:
        raise Invalid(
            f"cơ quan không có trong danh mục / unknown agencies: {', '.join(unknown)}",
            agencies=unknown,
        )
    with database.session() as session:
        directive = Directive(
            title=title[:300],
            description=description.strip(),
            priority=priority,
            status="open",
            due_at=due_at,
            incident_id=incident_id,
            kpi_code=(kpi_code or "").strip() or None,
            issued_by=principal.username,
            issued_at=now,
            updated_at=now,
            revision=1,
        )
        session.add(directive)
        session.flush()
        assignments = [
            Assignment(
                directive_id=directive.id,
                agency_code=code,
                area_code=agency_areas[code],
                status="assigned",
                percent=0,
                due_at=due_at,
                reason="",
                updated_at=now,
            )
            for code in codes
        ]
        session.add_all(assignments)
        session.flush()
        for assignment in assignments:
            notify(session, directive, assignment, "assigned")
        _journal(
            session,
            principal,
            "issued",
            directive,
            {
                "title": directive.title,
                "agencies": codes,
                "due_at": due_at.isoformat(),
                "priority": priority,
                "incident_id": incident_id,
                "kpi_code": directive.kpi_code,
            },
            address,
        )
        return directive_dict(directive, assignments, now, principal)


def _own_assignment(
    principal: Principal, assignments: list[Assignment], agency_code: str
) -> Assignment:
    found = next((a for a in assignments if a.agency_code == agency_code), None)
    if found is None:
        raise NotFound(f"cơ quan {agency_code} không được giao / {agency_code} is not assigned")
    if not principal.may_write_agency(agency_code):
        raise Forbidden(
            f"chỉ cán bộ của {agency_code} mới thực hiện được / only {agency_code}'s officers "
            "may do this"
        )
    return found


def _agency_action(
    database: Database,
    principal: Principal,
    directive_id: int,
    agency_code: str,
    action: str,
    change: Callable[[Session, Directive, Assignment, datetime], dict[str, Any]],
    address: str | None,
) -> dict[str, Any]:
    with database.session() as session:
        directive, assignments = load_directive(session, principal, directive_id, lock=True)
        assignment = _own_assignment(principal, assignments, agency_code)
        if directive.status != "open":
            raise Conflict(f"chỉ đạo đã {directive.status} / the directive is {directive.status}")
        now = clock.now()
        summary = change(session, directive, assignment, now)
        assignment.updated_at = now
        _settle(directive, assignments, now)
        _touch(directive, now)
        _journal(session, principal, action, directive, {"agency": agency_code, **summary}, address)
        return directive_dict(directive, assignments, now, principal)


def _refuse(assignment: Assignment, action_vi: str, action_en: str) -> Conflict:
    return Conflict(
        f"không thể {action_vi} khi đang ở trạng thái {assignment.status} / cannot {action_en} "
        f"an assignment that is {assignment.status}",
        status=assignment.status,
    )


def acknowledge(
    database: Database,
    principal: Principal,
    directive_id: int,
    agency_code: str,
    *,
    address: str | None = None,
) -> dict[str, Any]:
    def change(_s: Session, _d: Directive, assignment: Assignment, now: datetime) -> dict[str, Any]:
        if assignment.status != "assigned":
            raise _refuse(assignment, "tiếp nhận", "acknowledge")
        assignment.status, assignment.acknowledged_at = "acknowledged", now
        return {}

    return _agency_action(
        database, principal, directive_id, agency_code, "acknowledged", change, address
    )


def reject(
    database: Database,
    principal: Principal,
    directive_id: int,
    agency_code: str,
    *,
    reason: str,
    address: str | None = None,
) -> dict[str, Any]:
    """The agency declines (not its remit, say); the leader sees why."""
    reason = reason.strip()
    if not reason:
        raise Invalid("cần nêu lý do từ chối / a reason is required to reject")

    def change(
        _s: Session, _d: Directive, assignment: Assignment, _now: datetime
    ) -> dict[str, Any]:
        if assignment.status not in ("assigned", "acknowledged"):
            raise _refuse(assignment, "từ chối", "reject")
        assignment.status, assignment.reason = "rejected", reason
        return {"reason": reason}

    return _agency_action(
        database, principal, directive_id, agency_code, "rejected", change, address
    )


def _attach(
    session: Session, assignment: Assignment, report: Report, file_ids: Sequence[int]
) -> list[int]:
    """Link evidence uploaded earlier for this assignment to the report."""
    if not file_ids:
        return []
    rows = session.scalars(
        select(DirectiveFile).where(DirectiveFile.id.in_(sorted(set(file_ids))))
    ).all()
    found = {row.id: row for row in rows if row.assignment_id == assignment.id}
    missing = sorted(set(file_ids) - set(found))
    if missing:
        raise Invalid(
            "tệp minh chứng không thuộc phần việc này / evidence files not uploaded for this "
            f"assignment: {missing}",
            files=missing,
        )
    for row in found.values():
        row.report_id = report.id
    return sorted(found)


def report_progress(
    database: Database,
    principal: Principal,
    directive_id: int,
    agency_code: str,
    *,
    percent: int,
    note: str = "",
    files: Sequence[int] = (),
    address: str | None = None,
) -> dict[str, Any]:
    if not 0 <= percent <= 100:
        raise Invalid("tiến độ từ 0 đến 100 / percent is 0 to 100")

    def change(
        session: Session, _d: Directive, assignment: Assignment, now: datetime
    ) -> dict[str, Any]:
        if assignment.status not in WORKING:
            raise _refuse(assignment, "báo cáo tiến độ", "report progress on")
        if assignment.status == "assigned":
            assignment.acknowledged_at = now  # reporting progress acknowledges it too
        assignment.status, assignment.percent = "in_progress", percent
        report = Report(
            assignment_id=assignment.id,
            kind="progress",
            percent=percent,
            note=note.strip(),
            actor=principal.username,
            at=now,
        )
        session.add(report)
        session.flush()
        linked = _attach(session, assignment, report, files)
        return {"percent": percent, "note": note.strip(), "files": linked}

    return _agency_action(
        database, principal, directive_id, agency_code, "progress", change, address
    )


def complete(
    database: Database,
    principal: Principal,
    directive_id: int,
    agency_code: str,
    *,
    note: str,
    files: Sequence[int] = (),
    address: str | None = None,
) -> dict[str, Any]:
    """The agency reports the work done, with its evidence; the leader accepts or returns it."""
    note = note.strip()
    if not note:
        raise Invalid("cần mô tả kết quả / describe what was done")

    def change(
        session: Session, _d: Directive, assignment: Assignment, now: datetime
    ) -> dict[str, Any]:
        if assignment.status not in WORKING:
            raise _refuse(assignment, "báo cáo hoàn thành", "complete")
        assignment.acknowledged_at = assignment.acknowledged_at or now
        assignment.status, assignment.percent, assignment.done_at = "done", 100, now
        assignment.reason = ""
        report = Report(
            assignment_id=assignment.id,
            kind="completion",
            percent=100,
            note=note,
            actor=principal.username,
            at=now,
        )
        session.add(report)
        session.flush()
        linked = _attach(session, assignment, report, files)
        return {"note": note, "files": linked, "on_time": now <= assignment.due_at}

    return _agency_action(
        database, principal, directive_id, agency_code, "completed", change, address
    )


def _leader_action(
    database: Database,
    principal: Principal,
    directive_id: int,
    action: str,
    change: Callable[[Session, Directive, list[Assignment], datetime], dict[str, Any]],
    address: str | None,
    *,
    follow_up: bool = False,
) -> dict[str, Any]:
    """``follow_up``: accepting or returning, which the issuer may do too; anything else
    needs ``directives:issue``."""
    with database.session() as session:
        directive, assignments = load_directive(session, principal, directive_id, lock=True)
        _check_leader(principal, directive, follow_up=follow_up)
        if directive.status != "open":
            raise Conflict(f"chỉ đạo đã {directive.status} / the directive is {directive.status}")
        now = clock.now()
        summary = change(session, directive, assignments, now)
        _settle(directive, assignments, now)
        _touch(directive, now)
        _journal(session, principal, action, directive, summary, address)
        return directive_dict(directive, assignments, now, principal)


def _refused_follow_up() -> Forbidden:
    return Forbidden(
        "chỉ lãnh đạo hoặc người đã giao chỉ đạo này mới được nghiệm thu hoặc trả lại / only "
        "a leader or whoever issued this directive may accept or return its completion"
    )


def _check_leader(principal: Principal, directive: Directive, *, follow_up: bool) -> None:
    if follow_up:
        if not may_follow_up(principal, directive.issued_by):
            raise _refused_follow_up()
    elif not principal.has("directives:issue"):
        raise Forbidden("your role may not do this (directives:issue)")


def check_follow_up(database: Database, principal: Principal, directive_id: int) -> None:
    """Refuse (403) before anything else is read from the request when the caller may not
    accept or return this directive's parts; a directive out of sight is left to the action
    itself (404)."""
    with database.session() as session:
        try:
            directive, _parts = load_directive(session, principal, directive_id)
        except NotFound:
            return
        if not may_follow_up(principal, directive.issued_by):
            raise _refused_follow_up()


def _reported(assignments: list[Assignment], agency_code: str) -> Assignment:
    found = next((a for a in assignments if a.agency_code == agency_code), None)
    if found is None:
        raise NotFound(f"cơ quan {agency_code} không được giao / {agency_code} is not assigned")
    if found.status != "done":
        raise Conflict(
            f"{agency_code} chưa báo cáo hoàn thành / {agency_code} has not reported completion",
            status=found.status,
        )
    return found


def accept(
    database: Database,
    principal: Principal,
    directive_id: int,
    agency_code: str,
    *,
    note: str = "",
    address: str | None = None,
) -> dict[str, Any]:
    def change(
        _s: Session, _d: Directive, assignments: list[Assignment], now: datetime
    ) -> dict[str, Any]:
        assignment = _reported(assignments, agency_code)
        assignment.status, assignment.accepted_at, assignment.updated_at = "accepted", now, now
        on_time = assignment.done_at is not None and assignment.done_at <= assignment.due_at
        return {"agency": agency_code, "note": note.strip(), "on_time": on_time}

    return _leader_action(
        database, principal, directive_id, "accepted", change, address, follow_up=True
    )


def return_completion(
    database: Database,
    principal: Principal,
    directive_id: int,
    agency_code: str,
    *,
    reason: str,
    address: str | None = None,
) -> dict[str, Any]:
    """Not done yet: back to in progress, with the reason; the agency is notified."""
    reason = reason.strip()
    if not reason:
        raise Invalid("cần nêu lý do trả lại / a reason is required to return a completion")

    def change(
        session: Session, directive: Directive, assignments: list[Assignment], now: datetime
    ) -> dict[str, Any]:
        assignment = _reported(assignments, agency_code)
        assignment.status, assignment.reason, assignment.updated_at = "in_progress", reason, now
        assignment.done_at = None
        notify(session, directive, assignment, "returned")
        return {"agency": agency_code, "reason": reason}

    return _leader_action(
        database, principal, directive_id, "returned", change, address, follow_up=True
    )


def cancel(
    database: Database,
    principal: Principal,
    directive_id: int,
    *,
    reason: str,
    address: str | None = None,
) -> dict[str, Any]:
    reason = reason.strip()
    if not reason:
        raise Invalid("cần nêu lý do hủy / a reason is required to cancel")

    def change(
        _s: Session, directive: Directive, assignments: list[Assignment], now: datetime
    ) -> dict[str, Any]:
        directive.status, directive.closed_at = "cancelled", now
        for assignment in assignments:
            if assignment.status in ACTIVE:
                assignment.updated_at = now
        return {"reason": reason}

    return _leader_action(database, principal, directive_id, "cancelled", change, address)

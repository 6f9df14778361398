"""Reading alerts, and the hand actions (acknowledge, resolve, assign): scoped to the
caller's agencies and journalled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taydo.alerts.models import Alert, AlertEvent
from taydo.alerts.service.common import (
    alert_dict,
    iso,
)
from taydo.alerts.service.deliveries import alert_deliveries
from taydo.auth import journal
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Invalid, NotFound

__all__ = ["acknowledge", "assign", "get_alert", "list_alerts", "resolve"]


def _visible(principal: Principal | None, alert: Alert) -> bool:
    return principal is None or principal.may_see_agency(alert.agency_code)


def _load(session: Session, principal: Principal | None, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None or not _visible(principal, alert):  # 404 alike: no existence leak
        raise NotFound(f"không có cảnh báo / no alert {alert_id}")
    return alert


def list_alerts(
    database: Database,
    principal: Principal | None,
    *,
    state: str | None = None,
    severity: str | None = None,
    area: str | None = None,
    agency: str | None = None,
    rule: str | None = None,
    sector: str | None = None,
    active: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Newest first; ``sector`` is the dataset's sector, recorded on the alert when raised."""
    statement = select(Alert).order_by(Alert.id.desc())
    if principal is not None and not principal.sees_everything:
        statement = statement.where(Alert.agency_code.in_(sorted(principal.agencies)))
    for column, value in (
        (Alert.state, state),
        (Alert.severity, severity),
        (Alert.area_code, area),
        (Alert.agency_code, agency),
        (Alert.rule_code, rule),
        (Alert.sector, sector),
    ):
        if value:
            statement = statement.where(column == value)
    if active is True:
        statement = statement.where(Alert.open_key.is_not(None))
    elif active is False:
        statement = statement.where(Alert.open_key.is_(None))
    with database.session() as session:
        rows = session.scalars(statement.limit(min(limit, 1000)).offset(offset)).all()
        return [alert_dict(row) for row in rows]


def get_alert(database: Database, principal: Principal | None, alert_id: int) -> dict[str, Any]:
    with database.session() as session:
        alert = _load(session, principal, alert_id)
        events = session.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.id)
        ).all()
        result = alert_dict(alert)
        result["history"] = [
            {
                "at": iso(e.at),
                "event": e.event,
                "severity": e.severity,
                "level": e.level,
                "value": e.value,
                "actor": e.actor,
                "note": e.note,
            }
            for e in events
        ]
        result["deliveries"] = alert_deliveries(session, alert.id)
        return result


def _act(
    database: Database,
    principal: Principal,
    alert_id: int,
    action: str,
    change: Callable[[Alert], dict[str, Any]],
    *,
    note: str = "",
    address: str | None = None,
) -> dict[str, Any]:
    with database.session() as session:
        alert = _load(session, principal, alert_id)
        if not principal.may_write_agency(alert.agency_code) and principal.role not in ("leader",):
            raise NotFound(f"không có cảnh báo / no alert {alert_id}")
        summary = change(alert)
        now = clock.now()
        alert.updated_at, alert.revision = now, alert.revision + 1
        session.add(
            AlertEvent(
                alert_id=alert.id,
                at=now,
                event=action,
                severity=alert.severity,
                level=alert.level,
                actor=principal.username,
                note=note,
            )
        )
        journal.record(
            session,
            actor=principal.username,
            action=f"alert.{action}",
            object_type="alert",
            object_id=str(alert.id),
            summary=summary,
            address=address,
        )
        return alert_dict(alert)


def acknowledge(
    database: Database,
    principal: Principal,
    alert_id: int,
    *,
    note: str = "",
    address: str | None = None,
) -> dict[str, Any]:
    def change(alert: Alert) -> dict[str, Any]:
        if alert.state != "firing":
            raise Invalid(f"cảnh báo đang ở trạng thái / alert is {alert.state}, not firing")
        alert.state, alert.acked_at, alert.acked_by = (
            "acknowledged",
            clock.now(),
            principal.username,
        )
        return {"note": note}

    return _act(database, principal, alert_id, "acknowledged", change, note=note, address=address)


def resolve(
    database: Database,
    principal: Principal,
    alert_id: int,
    *,
    note: str,
    address: str | None = None,
) -> dict[str, Any]:
    if not note.strip():
        raise Invalid("cần ghi chú khi kết thúc bằng tay / a note is required to resolve by hand")

    def change(alert: Alert) -> dict[str, Any]:
        if alert.state == "resolved":
            raise Invalid("cảnh báo đã kết thúc / alert is already resolved")
        alert.state, alert.open_key = "resolved", None
        alert.resolved_at, alert.resolved_by, alert.note = clock.now(), principal.username, note
        return {"note": note}

    return _act(database, principal, alert_id, "resolved", change, note=note, address=address)


def assign(
    database: Database,
    principal: Principal,
    alert_id: int,
    *,
    assignee: str | None,
    address: str | None = None,
) -> dict[str, Any]:
    def change(alert: Alert) -> dict[str, Any]:
        previous, alert.assignee = alert.assignee, assignee or None
        return {"from": previous, "to": alert.assignee}

    return _act(
        database, principal, alert_id, "assigned", change, note=assignee or "", address=address
    )

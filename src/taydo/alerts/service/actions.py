"""Reading alerts, and the hand actions (acknowledge, resolve, assign): scoped to the
caller's agencies and journalled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, case, or_, select
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
from taydo.observations.query import latest_points
from taydo.rules.choices import SEVERITIES

__all__ = [
    "LIST_SORTS",
    "acknowledge",
    "acknowledge_many",
    "assign",
    "condition_holds",
    "get_alert",
    "is_unseen",
    "list_alerts",
    "resolve",
]

# How the list may be ordered; the first is the default. Ties fall back to newest first.
LIST_SORTS: tuple[str, ...] = ("time", "severity", "station", "area")
_SEVERITY_ORDER = case({c.code: c.rank for c in SEVERITIES}, value=Alert.severity, else_=0)


def _unseen() -> Any:
    """An alarm the engine closed by itself (the condition cleared) before anyone
    acknowledged it: nobody has seen it, so the list keeps it until someone does."""
    return and_(Alert.state == "resolved", Alert.resolved_by == "system", Alert.acked_at.is_(None))


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
    unseen: bool = False,
    sort: str = "time",
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Newest first unless ``sort`` says otherwise (most severe, by station, by area);
    ``sector`` is the dataset's sector, recorded on the alert when raised. With
    ``active=True`` and ``unseen=True`` the alarms that cleared unacknowledged are kept."""
    if sort not in LIST_SORTS:
        raise Invalid(f"cách sắp xếp không hợp lệ / unknown sort {sort!r}")
    order: list[Any] = {
        "time": [],
        "severity": [_SEVERITY_ORDER.desc()],
        "station": [Alert.entity_id.asc()],
        "area": [Alert.area_code.asc()],
    }[sort]
    statement = select(Alert).order_by(*order, Alert.id.desc())
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
    if active is True and unseen:
        statement = statement.where(or_(Alert.open_key.is_not(None), _unseen()))
    elif active is True:
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
        if is_unseen(alert):
            # Seen at last: it stays resolved, and now leaves the list of open alarms.
            alert.acked_at, alert.acked_by = clock.now(), principal.username
            return {"note": note, "unseen": True}
        if alert.state != "firing":
            raise Invalid(f"cảnh báo đang ở trạng thái / alert is {alert.state}, not firing")
        alert.state, alert.acked_at, alert.acked_by = (
            "acknowledged",
            clock.now(),
            principal.username,
        )
        return {"note": note}

    return _act(database, principal, alert_id, "acknowledged", change, note=note, address=address)


def is_unseen(alert: Alert) -> bool:
    return alert.state == "resolved" and alert.resolved_by == "system" and alert.acked_at is None


def acknowledge_many(
    database: Database,
    principal: Principal,
    alert_ids: list[int],
    *,
    address: str | None = None,
) -> tuple[list[dict[str, Any]], list[int]]:
    """Acknowledge several alerts, each in its own transaction and journal entry (as one
    acknowledgement would be). Returns the changed alerts and the ids refused (not visible,
    not writable, or not waiting for an acknowledgement), so one stale row never blocks
    the others."""
    changed: list[dict[str, Any]] = []
    refused: list[int] = []
    for alert_id in dict.fromkeys(alert_ids):  # once each, in the order given
        try:
            changed.append(acknowledge(database, principal, alert_id, address=address))
        except (Invalid, NotFound):
            refused.append(alert_id)
    return changed, refused


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


def condition_holds(
    database: Database, principal: Principal | None, alert_id: int
) -> dict[str, Any] | None:
    """Whether the alert's condition still holds, for a hand resolution to be confirmed.

    The engine closes an episode (``open_key``) the moment its condition clears, with the
    rule's hysteresis; an alert still open is one whose latest judged value is still beyond
    its threshold. Returns ``{"value": latest value or None, "level": the level}`` then, or
    ``None`` when the condition has cleared (or the alert is already closed)."""
    with database.session() as session:
        alert = _load(session, principal, alert_id)
        if alert.open_key is None or alert.state == "resolved":
            return None
        series_id, value, level = alert.series_id, alert.value, alert.level
    if series_id is not None:
        latest = latest_points(database, [series_id])
        if latest:
            value = latest[0][2]
    return {"value": value, "level": level}

"""Alert episodes: turning engine transitions into persisted alerts, and the hand actions
(acknowledge, resolve, assign, silence), all journalled and scoped to the caller's agencies.

One open episode per (rule, target) is guaranteed by the ``open_key`` unique column, so a
restart or a replayed transition continues the open episode rather than opening a second one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taydo.alerts.models import Alert, AlertEvent, Silence
from taydo.alerts.routing import (
    ChannelIn,
    Matchers,
    SilenceIn,
    active_silences,
    delete_silence,
    enqueue,
    matching_routes,
    silence_matches,
)
from taydo.alerts.routing import save_channel as routing_save_channel
from taydo.auth import journal
from taydo.catalog.models import Dataset, Entity
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Forbidden, Invalid, NotFound
from taydo.rules.choices import ALERT_STATES, RISK_LEVELS, SEVERITIES, severity_rank
from taydo.rules.engine import Transition
from taydo.rules.schemas import RuleDef, ThresholdRule

__all__ = [
    "acknowledge",
    "alert_dict",
    "apply_transitions",
    "assign",
    "create_silence",
    "get_alert",
    "list_alerts",
    "open_alerts",
    "remove_silence",
    "resolve",
    "rule_audit_hook",
    "save_channel",
    "silence_alert",
]

log = logging.getLogger(__name__)
_SEVERITY = {c.code: c for c in SEVERITIES}
_STATE = {c.code: c for c in ALERT_STATES}
_RISK = {int(c.code): c for c in RISK_LEVELS}


def _audit(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    summary: dict[str, Any],
    address: str | None = None,
) -> None:
    """Journal a state change in the caller's transaction (identity's hash-chained journal)."""
    journal.record(
        session,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        summary=summary,
        address=address,
    )


def _system_audit(session: Session, alert: Alert, action: str, summary: dict[str, Any]) -> None:
    """Journal what the engine itself did to an alert (fired it, resolved it on clearing)."""
    _audit(
        session,
        actor="system",
        action=action,
        object_type="alert",
        object_id=str(alert.id),
        summary=summary,
    )


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)  # SQLite returns naive UTC values
    return moment


def _iso(moment: datetime | None) -> str | None:
    aware = _aware(moment)
    return aware.isoformat() if aware else None


def alert_dict(alert: Alert) -> dict[str, Any]:
    """An alert as the API, the bus and the live stream carry it (with choice labels)."""
    severity = _SEVERITY.get(alert.severity)
    state = _STATE.get(alert.state)
    risk = _RISK.get(alert.risk_level) if alert.risk_level else None
    return {
        "id": alert.id,
        "rule": alert.rule_code,
        "kind": alert.rule_kind,
        "target": alert.target,
        "state": alert.state,
        "state_label": {"vi": state.vi, "en": state.en, "colour": state.colour} if state else None,
        "severity": alert.severity,
        "severity_label": (
            {"vi": severity.vi, "en": severity.en, "colour": severity.colour} if severity else None
        ),
        "level": alert.level,
        "risk_level": alert.risk_level,
        "risk_label": {"vi": risk.vi, "en": risk.en, "colour": risk.colour} if risk else None,
        "value": alert.value,
        "entity_id": alert.entity_id,
        "metric": alert.metric,
        "series_id": alert.series_id,
        "area_code": alert.area_code,
        "agency_code": alert.agency_code,
        "sector": alert.sector,
        "public": alert.public,
        "silenced": alert.silenced,
        "title": alert.title,
        "title_en": alert.title_en,
        "started_at": _iso(alert.started_at),
        "updated_at": _iso(alert.updated_at),
        "acked_at": _iso(alert.acked_at),
        "acked_by": alert.acked_by,
        "resolved_at": _iso(alert.resolved_at),
        "resolved_by": alert.resolved_by,
        "assignee": alert.assignee,
        "note": alert.note,
        "revision": alert.revision,
    }


def _titles(rule: RuleDef | None, t: Transition, entity_name: str | None) -> tuple[str, str]:
    name = rule.name if rule else t.rule
    name_en = (rule.name_en or rule.name) if rule else t.rule
    level_vi = level_en = t.level or ""
    if isinstance(rule, ThresholdRule):
        for level in rule.levels:
            if level.code == t.level:
                level_vi, level_en = level.label, level.label_en or level.label
    if t.risk_level:
        level_vi, level_en = _RISK[t.risk_level].vi, _RISK[t.risk_level].en
    where = entity_name or t.target
    vi = f"{name}: {level_vi} — {where}" if level_vi else f"{name} — {where}"
    en = f"{name_en}: {level_en} — {where}" if level_en else f"{name_en} — {where}"
    return vi[:400], en[:400]


def _context(session: Session, entity_id: str | None) -> tuple[str | None, str | None]:
    """The entity's display name and its dataset's sector (for titles and routing)."""
    if not entity_id:
        return None, None
    row = session.execute(
        select(Entity.name, Dataset.sector)
        .outerjoin(Dataset, Dataset.id == Entity.dataset_id)
        .where(Entity.entity_id == entity_id)
    ).first()
    return (row[0], row[1]) if row else (None, None)


def _notify(session: Session, alert: Alert, event: str, silences: list[Silence]) -> None:
    if alert.silenced or silence_matches(silences, alert):
        alert.silenced = True
        return
    payload = {"event": event, "alert": alert_dict(alert)}
    channels = [code for route in matching_routes(session, alert) for code in route.channels]
    if channels:
        enqueue(session, alert, channels, event, payload)
        alert.last_notified_at = clock.now()


def apply_transitions(
    database: Database, transitions: Sequence[Transition], rules: dict[str, RuleDef]
) -> list[dict[str, Any]]:
    """Persist transitions in one transaction; returns the alerts that changed."""
    changed: list[dict[str, Any]] = []
    now = clock.now()
    with database.session() as session:
        silences = active_silences(session, now)
        for t in transitions:
            key = f"{t.rule}|{t.target}"
            alert = session.scalar(select(Alert).where(Alert.open_key == key))
            rule = rules.get(t.rule)
            if t.action == "clear":
                if alert is None:
                    continue
                alert.state, alert.open_key = "resolved", None
                alert.resolved_at, alert.resolved_by = now, "system"
                alert.value = t.value if t.value is not None else alert.value
                alert.updated_at, alert.revision = now, alert.revision + 1
                session.add(AlertEvent(alert_id=alert.id, at=now, event="cleared", value=t.value))
                _system_audit(
                    session,
                    alert,
                    "alert.resolve",
                    {"rule": t.rule, "target": t.target, "auto": True},
                )
                _notify(session, alert, "resolved", silences)
                changed.append(alert_dict(alert))
                continue
            if alert is None:
                name, sector = _context(session, t.entity_id)
                title, title_en = _titles(rule, t, name)
                alert = Alert(
                    rule_code=t.rule,
                    rule_kind=rule.kind if rule else "",
                    target=t.target,
                    open_key=key,
                    state="firing",
                    severity=t.severity,
                    level=t.level,
                    risk_level=t.risk_level,
                    value=t.value,
                    series_id=t.series_id,
                    entity_id=t.entity_id,
                    metric=t.metric,
                    area_code=t.area_code,
                    agency_code=t.agency_code,
                    sector=sector,
                    public=bool(rule and rule.public),
                    silenced=False,
                    title=title,
                    title_en=title_en,
                    started_at=now,
                    updated_at=now,
                    escalation_step=0,
                    revision=1,
                )
                session.add(alert)
                session.flush()
                session.add(
                    AlertEvent(
                        alert_id=alert.id,
                        at=now,
                        event="fired",
                        severity=t.severity,
                        level=t.level,
                        value=t.value,
                    )
                )
                _system_audit(
                    session,
                    alert,
                    "alert.fire",
                    {"rule": t.rule, "target": t.target, "level": t.level},
                )
                _notify(session, alert, "fired", silences)
                changed.append(alert_dict(alert))
                continue
            if alert.level == t.level and alert.severity == t.severity:
                alert.value = t.value  # the same episode goes on (e.g. after a restart)
                continue
            rising = severity_rank(t.severity) > severity_rank(alert.severity)
            name, _sector = _context(session, t.entity_id)
            alert.title, alert.title_en = _titles(rule, t, name)
            alert.severity, alert.level, alert.value = t.severity, t.level, t.value
            alert.risk_level = t.risk_level or alert.risk_level
            alert.updated_at, alert.revision = now, alert.revision + 1
            session.add(
                AlertEvent(
                    alert_id=alert.id,
                    at=now,
                    event="escalated" if rising else "eased",
                    severity=t.severity,
                    level=t.level,
                    value=t.value,
                )
            )
            if rising:  # a higher level is news again, even if acknowledged
                alert.state = "firing"
                alert.escalation_step = 0
                _notify(session, alert, "escalated", silences)
            changed.append(alert_dict(alert))
    return changed


def open_alerts(database: Database) -> list[dict[str, Any]]:
    with database.session() as session:
        rows = session.scalars(select(Alert).where(Alert.open_key.is_not(None))).all()
        return [alert_dict(row) | {"rule_code": row.rule_code} for row in rows]


# -- reading and hand actions (scoped) ------------------------------------------------------
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
                "at": _iso(e.at),
                "event": e.event,
                "severity": e.severity,
                "level": e.level,
                "value": e.value,
                "actor": e.actor,
                "note": e.note,
            }
            for e in events
        ]
        return result


def _act(
    database: Database,
    principal: Principal,
    alert_id: int,
    action: str,
    change: Any,
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
        _audit(
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
    database: Database, principal: Principal, alert_id: int, *, note: str = "", address=None
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
    database: Database, principal: Principal, alert_id: int, *, note: str, address=None
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
    database: Database, principal: Principal, alert_id: int, *, assignee: str | None, address=None
) -> dict[str, Any]:
    def change(alert: Alert) -> dict[str, Any]:
        previous, alert.assignee = alert.assignee, assignee or None
        return {"from": previous, "to": alert.assignee}

    return _act(
        database, principal, alert_id, "assigned", change, note=assignee or "", address=address
    )


def create_silence(
    database: Database, principal: Principal, data: SilenceIn, *, address: str | None = None
) -> dict[str, Any]:
    if not principal.sees_everything:
        wanted = set(data.match.agencies)
        if not wanted or not wanted <= principal.agencies:
            raise Forbidden(
                "cán bộ chỉ tắt cảnh báo của cơ quan mình / officers silence only their own "
                "agencies' alerts (set match.agencies)"
            )
    starts = data.starts_at or clock.now()
    if data.ends_at <= starts:
        raise Invalid("thời điểm kết thúc phải sau bắt đầu / ends_at must be after starts_at")
    with database.session() as session:
        row = Silence(
            kind=data.kind,
            matchers=data.match.model_dump(),
            starts_at=starts,
            ends_at=data.ends_at,
            reason=data.reason,
            created_by=principal.username,
            created_at=clock.now(),
        )
        session.add(row)
        session.flush()
        _audit(
            session,
            actor=principal.username,
            action=f"alert.{data.kind}",
            object_type="silence",
            object_id=str(row.id),
            summary={
                "match": row.matchers,
                "reason": data.reason,
                "until": data.ends_at.isoformat(),
            },
            address=address,
        )
        return {
            "id": row.id,
            "kind": row.kind,
            "match": row.matchers,
            "reason": row.reason,
            "starts_at": _iso(row.starts_at),
            "ends_at": _iso(row.ends_at),
        }


def silence_alert(
    database: Database,
    principal: Principal,
    alert_id: int,
    *,
    hours: int,
    reason: str = "",
    address: str | None = None,
) -> dict[str, Any]:
    """Silence this alert's rule on its entity for some hours (the console's one-click
    silence); an officer's silence is limited to the alert's agency."""
    alert = get_alert(database, principal, alert_id)
    agencies = [alert["agency_code"]] if alert.get("agency_code") else []
    data = SilenceIn(
        match=Matchers(
            rules=[alert["rule"]],
            entities=[alert["entity_id"]] if alert.get("entity_id") else [],
            agencies=agencies if not principal.sees_everything else [],
        ),
        ends_at=clock.now() + timedelta(hours=hours),
        reason=reason.strip() or f"alert {alert_id}",
    )
    return create_silence(database, principal, data, address=address)


def remove_silence(
    database: Database, principal: Principal, silence_id: int, *, address: str | None = None
) -> None:
    with database.session() as session:
        row = session.get(Silence, silence_id)
        agencies = set((row.matchers or {}).get("agencies") or []) if row else set()
        if row is None or (not principal.sees_everything and not agencies <= principal.agencies):
            raise NotFound(f"không có lệnh tắt cảnh báo / no silence {silence_id}")
        delete_silence(session, silence_id)
        _audit(
            session,
            actor=principal.username,
            action="alert.unsilence",
            object_type="silence",
            object_id=str(silence_id),
            summary={},
            address=address,
        )


# -- journal of rule and channel changes ----------------------------------------------------
def rule_audit_hook(principal: Principal, address: str | None) -> Any:
    """The ``audit`` callback ``taydo.rules.service`` calls for each saved or deleted rule."""

    def hook(session: Any, action: str, code: str, summary: dict[str, Any]) -> None:
        _audit(
            session,
            actor=principal.username,
            action=action,
            object_type="rule",
            object_id=code,
            summary=summary,
            address=address,
        )

    return hook


def save_channel(
    database: Database, principal: Principal, body: ChannelIn, *, address: str | None = None
) -> dict[str, Any]:
    """Save a notification channel and journal it (whether the secret changed, never it)."""
    view = routing_save_channel(database, body)
    with database.session() as session:
        _audit(
            session,
            actor=principal.username,
            action="notify.channel.save",
            object_type="channel",
            object_id=body.code,
            summary={"kind": body.kind, "secret_changed": body.secret is not None},
            address=address,
        )
    return view

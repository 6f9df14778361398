"""What the alert services share: the engine's journal entries, an alert as the API
carries it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from taydo.alerts.models import Alert
from taydo.auth import journal
from taydo.rules.choices import ALERT_STATES, RISK_LEVELS, SEVERITIES

__all__ = [
    "RISK_BY_LEVEL",
    "SEVERITY_BY_CODE",
    "STATE_BY_CODE",
    "alert_dict",
    "aware",
    "iso",
    "system_audit",
]

SEVERITY_BY_CODE = {c.code: c for c in SEVERITIES}
STATE_BY_CODE = {c.code: c for c in ALERT_STATES}
RISK_BY_LEVEL = {int(c.code): c for c in RISK_LEVELS}


def system_audit(session: Session, alert: Alert, action: str, summary: dict[str, Any]) -> None:
    """Journal what the engine itself did to an alert (fired it, resolved it on clearing)."""
    journal.record(
        session,
        actor="system",
        action=action,
        object_type="alert",
        object_id=str(alert.id),
        summary=summary,
    )


def aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)  # SQLite returns naive UTC values
    return moment


def iso(moment: datetime | None) -> str | None:
    found = aware(moment)
    return found.isoformat() if found else None


def alert_dict(alert: Alert) -> dict[str, Any]:
    """An alert as the API, the bus and the live stream carry it (with choice labels)."""
    severity = SEVERITY_BY_CODE.get(alert.severity)
    state = STATE_BY_CODE.get(alert.state)
    risk = RISK_BY_LEVEL.get(alert.risk_level) if alert.risk_level else None
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
        "started_at": iso(alert.started_at),
        "updated_at": iso(alert.updated_at),
        "acked_at": iso(alert.acked_at),
        "acked_by": alert.acked_by,
        "resolved_at": iso(alert.resolved_at),
        "resolved_by": alert.resolved_by,
        "assignee": alert.assignee,
        "note": alert.note,
        "revision": alert.revision,
    }

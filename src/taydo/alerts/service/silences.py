"""Silences and maintenance windows, and silencing one alert."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from taydo.alerts.models import Silence
from taydo.alerts.routing import (
    Matchers,
    SilenceIn,
    delete_silence,
)
from taydo.alerts.service.actions import get_alert
from taydo.alerts.service.common import (
    iso,
)
from taydo.auth import journal
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Forbidden, Invalid, NotFound

__all__ = ["create_silence", "remove_silence", "silence_alert"]


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
        journal.record(
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
            "starts_at": iso(row.starts_at),
            "ends_at": iso(row.ends_at),
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


def _may_end(principal: Principal, row: Silence) -> bool:
    """An officer ends only a silence scoped to their own agencies. A silence that names no
    agency covers every agency (city-wide): it is not an officer's to end, as it was not an
    officer's to create (``create_silence`` refuses an empty ``match.agencies``)."""
    if principal.sees_everything:
        return True
    agencies = set((row.matchers or {}).get("agencies") or [])
    return bool(agencies) and agencies <= principal.agencies


def remove_silence(
    database: Database, principal: Principal, silence_id: int, *, address: str | None = None
) -> None:
    with database.session() as session:
        row = session.get(Silence, silence_id)
        if row is None or not _may_end(principal, row):
            raise NotFound(f"không có lệnh tắt cảnh báo / no silence {silence_id}")
        delete_silence(session, silence_id)
        journal.record(
            session,
            actor=principal.username,
            action="alert.unsilence",
            object_type="silence",
            object_id=str(silence_id),
            summary={},
            address=address,
        )

"""The notification outbox as people see it: the deliveries of an alert, the failed ones
across channels, and sending dead letters again once their channel is fixed (journalled).

A delivery that failed ``max_attempts`` times — a receiver down all night, or a route naming a
channel nobody has created yet — is dead-lettered, never dropped: it stays in the outbox with
its last error until an administrator sends it again or leaves it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from taydo.alerts.models import Outbox
from taydo.alerts.service.common import iso
from taydo.auth import journal
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Invalid

__all__ = ["STATUSES", "delivery_dict", "list_deliveries", "retry_deliveries"]

STATUSES = ("pending", "sent", "dead")


def delivery_dict(row: Outbox) -> dict[str, Any]:
    """A delivery without its payload (the alert, which the caller may not be allowed to see
    in full, and which the alert's own route shows)."""
    return {
        "id": row.id,
        "alert_id": row.alert_id,
        "channel": row.channel_code,
        "event": row.event,
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error or None,
        "created_at": iso(row.created_at),
        "next_at": iso(row.next_at) if row.status == "pending" else None,
        "sent_at": iso(row.sent_at),
    }


def alert_deliveries(session: Session, alert_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Outbox).where(Outbox.alert_id == alert_id).order_by(Outbox.id)
    ).all()
    return [delivery_dict(row) for row in rows]


def list_deliveries(
    database: Database,
    *,
    status: str | None = None,
    channel: str | None = None,
    alert_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Deliveries, newest first."""
    if status is not None and status not in STATUSES:
        raise Invalid(
            "trạng thái không hợp lệ / unknown status", status=status, allowed=list(STATUSES)
        )
    statement = select(Outbox).order_by(Outbox.id.desc())
    for column, value in (
        (Outbox.status, status),
        (Outbox.channel_code, channel),
        (Outbox.alert_id, alert_id),
    ):
        if value is not None:
            statement = statement.where(column == value)
    with database.session() as session:
        rows = session.scalars(statement.limit(min(max(limit, 1), 1000)).offset(offset)).all()
        return [delivery_dict(row) for row in rows]


def retry_deliveries(
    database: Database,
    principal: Principal,
    *,
    ids: list[int] | None = None,
    channel: str | None = None,
    address: str | None = None,
) -> list[int]:
    """Queue dead-lettered deliveries again — the given ``ids``, or every dead one of
    ``channel`` — with their attempts counted afresh; returns the ids queued. Deliveries that
    are pending or sent are left as they are (a sent one is never sent twice)."""
    if not ids and not channel:
        raise Invalid("cần danh sách id hoặc kênh / give delivery ids or a channel")
    statement = (
        update(Outbox)
        .where(Outbox.status == "dead")
        .values(status="pending", attempts=0, next_at=clock.now())
        .returning(Outbox.id)
    )
    if ids:
        statement = statement.where(Outbox.id.in_(ids))
    if channel:
        statement = statement.where(Outbox.channel_code == channel)
    with database.session() as session:
        queued = sorted(session.scalars(statement).all())
        journal.record(
            session,
            actor=principal.username,
            action="notify.retry",
            object_type="channel",
            object_id=channel or "*",
            summary={"requested": ids or None, "queued": queued},
            address=address,
        )
    return queued

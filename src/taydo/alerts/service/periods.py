"""Alerts over a period, for reports: how many opened (by severity and sector), how many are
open now, and which were acknowledged late (or not yet, past the limit)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from taydo.alerts.models import Alert
from taydo.alerts.service.common import aware, iso
from taydo.core import clock
from taydo.core.db import Database
from taydo.rules.choices import severity_rank

__all__ = ["ACK_WITHIN_S", "period_summary"]

ACK_WITHIN_S = 1800  # an alert not acknowledged within 30 minutes counts as acknowledged late


def period_summary(
    database: Database,
    *,
    start: datetime,
    end: datetime,
    agencies: frozenset[str] | None = None,
    ack_within_s: int = ACK_WITHIN_S,
    listed: int = 200,
) -> dict[str, Any]:
    """Alerts started in [start, end), of ``agencies`` (None: every agency).

    ``late``: alerts of the period acknowledged more than ``ack_within_s`` after they
    started, or not acknowledged (nor resolved) at all although that time has passed.
    ``alerts``: the period's alerts, most severe first then newest (at most ``listed``)."""
    now = clock.now()
    limit = timedelta(seconds=ack_within_s)
    scope = [Alert.started_at >= start, Alert.started_at < end]
    if agencies is not None:
        scope.append(Alert.agency_code.in_(sorted(agencies)))
    with database.session() as session:
        rows = session.scalars(select(Alert).where(*scope).order_by(Alert.id.desc())).all()
        open_now = select(func.count()).select_from(Alert).where(Alert.open_key.is_not(None))
        if agencies is not None:
            open_now = open_now.where(Alert.agency_code.in_(sorted(agencies)))
        open_count = int(session.scalar(open_now) or 0)
    by_severity: Counter[str] = Counter()
    by_sector: Counter[str] = Counter()
    late: list[dict[str, Any]] = []
    listing: list[dict[str, Any]] = []
    for alert in rows:
        started = aware(alert.started_at)
        acked = aware(alert.acked_at)
        assert started is not None
        by_severity[alert.severity] += 1
        by_sector[alert.sector or ""] += 1
        delay = (acked - started) if acked is not None else None
        is_late = (delay is not None and delay > limit) or (
            acked is None and alert.resolved_at is None and now - started > limit
        )
        item = {
            "id": alert.id,
            "title": alert.title,
            "title_en": alert.title_en,
            "severity": alert.severity,
            "state": alert.state,
            "level": alert.level,
            "value": alert.value,
            "area_code": alert.area_code,
            "agency_code": alert.agency_code,
            "sector": alert.sector,
            "started_at": iso(started),
            "acked_at": iso(acked),
            "ack_delay_s": round(delay.total_seconds()) if delay is not None else None,
            "late": is_late,
        }
        listing.append(item)
        if is_late:
            late.append(item)
    return {
        "opened": len(rows),
        "open_now": open_count,
        "by_severity": dict(by_severity),
        "by_sector": dict(by_sector),
        "late": late,
        "alerts": sorted(listing, key=lambda a: (-severity_rank(a["severity"]), -a["id"]))[:listed],
    }

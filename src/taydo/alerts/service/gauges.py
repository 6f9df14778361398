"""What the operators' metrics read of the alerts domain: two grouped counts, no rows.

Open alerts by severity and the notification outbox by channel and status (``pending`` is
the depth still to deliver, ``dead`` the dead letters). Each is one ``GROUP BY`` over an
indexed column, cheap enough for every Prometheus scrape.
"""

from __future__ import annotations

from sqlalchemy import func, select

from taydo.alerts.models import Alert, Outbox
from taydo.core.db import Database

__all__ = ["open_by_severity", "outbox_by_channel"]


def open_by_severity(database: Database) -> dict[str, int]:
    with database.session() as session:
        rows = session.execute(
            select(Alert.severity, func.count())
            .where(Alert.open_key.is_not(None))
            .group_by(Alert.severity)
        ).all()
    return {str(severity): int(count) for severity, count in rows}


def outbox_by_channel(database: Database) -> dict[tuple[str, str], int]:
    """``{(channel, status): count}`` for the rows not yet sent (pending, dead)."""
    with database.session() as session:
        rows = session.execute(
            select(Outbox.channel_code, Outbox.status, func.count())
            .where(Outbox.status != "sent")
            .group_by(Outbox.channel_code, Outbox.status)
        ).all()
    return {(str(channel), str(status)): int(count) for channel, status, count in rows}

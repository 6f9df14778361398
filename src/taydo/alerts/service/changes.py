"""Journal entries of channel changes."""

from __future__ import annotations

from typing import Any

from taydo.alerts.routing import (
    ChannelIn,
)
from taydo.alerts.routing import save_channel as routing_save_channel
from taydo.auth import journal
from taydo.core.access import Principal
from taydo.core.db import Database

__all__ = ["save_channel"]


def save_channel(
    database: Database, principal: Principal, body: ChannelIn, *, address: str | None = None
) -> dict[str, Any]:
    """Save a notification channel and journal it (whether the secret changed, never it)."""
    view = routing_save_channel(database, body)
    with database.session() as session:
        journal.record(
            session,
            actor=principal.username,
            action="notify.channel.save",
            object_type="channel",
            object_id=body.code,
            summary={"kind": body.kind, "secret_changed": body.secret is not None},
            address=address,
        )
    return view

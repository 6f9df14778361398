"""Journal entries of rule and channel changes."""

from __future__ import annotations

from typing import Any

from taydo.alerts.routing import (
    ChannelIn,
)
from taydo.alerts.routing import save_channel as routing_save_channel
from taydo.auth import journal
from taydo.core.access import Principal
from taydo.core.db import Database

__all__ = ["rule_audit_hook", "save_channel"]


def rule_audit_hook(principal: Principal, address: str | None) -> Any:
    """The ``audit`` callback ``taydo.rules.service`` calls for each saved or deleted rule."""

    def hook(session: Any, action: str, code: str, summary: dict[str, Any]) -> None:
        journal.record(
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

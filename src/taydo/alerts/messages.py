"""Notifications that are not alerts: assignments, due and overdue steps, directives, reports.

The command-centre and decision-support domains tell agencies about their work through the same
channels, routes and delivery machinery as alerts (the outbox, its retries and dead letters, its
one-sender-per-row claims in a cluster). A message is routed by the routes whose matchers speak
of who and where (agencies, areas, sectors, severities); a route that names rules or entities is
about particular alerts and never carries a message. The row is written in the caller's
transaction, so a message exists exactly when the change it announces was committed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taydo.alerts.models import Outbox, Route
from taydo.alerts.routing import Matchers
from taydo.core import clock
from taydo.rules.choices import severity_rank

__all__ = ["MESSAGE_KIND_MAX", "Message", "enqueue_message", "message_routes"]

MESSAGE_KIND_MAX = 24  # the outbox's event column


@dataclass(frozen=True)
class Message:
    """One notification to the agencies concerned.

    ``kind`` names what happened (``incident.assigned``, ``directive.overdue`` …) and is sent as
    the webhook's ``X-Taydo-Event``; ``link`` is the console path of the object.
    """

    kind: str
    title: str  # Vietnamese, as people read it
    title_en: str
    body: str = ""
    link: str = ""
    agency_code: str | None = None
    area_code: str | None = None
    sector: str | None = None
    severity: str = "info"
    extra: dict[str, Any] = field(default_factory=dict)  # JSON-able facts for webhook readers

    def __post_init__(self) -> None:
        if not self.kind or len(self.kind) > MESSAGE_KIND_MAX:
            raise ValueError(f"a message kind has 1 to {MESSAGE_KIND_MAX} characters")


def _carries(matchers: Matchers, message: Message) -> bool:
    if matchers.rules or matchers.entities:
        return False
    return (
        (not matchers.agencies or message.agency_code in matchers.agencies)
        and (not matchers.areas or message.area_code in matchers.areas)
        and (not matchers.sectors or message.sector in matchers.sectors)
        and (not matchers.severities or message.severity in matchers.severities)
        and (
            matchers.min_severity is None
            or severity_rank(message.severity) >= severity_rank(matchers.min_severity)
        )
    )


def message_routes(session: Session, message: Message) -> list[Route]:
    routes = session.scalars(select(Route).order_by(Route.position, Route.code)).all()
    return [r for r in routes if _carries(Matchers.model_validate(r.matchers), message)]


def enqueue_message(session: Session, message: Message) -> int:
    """Queue ``message`` on every channel of every route that carries it, each channel once;
    returns how many deliveries were queued (0 when no route carries it)."""
    channels = dict.fromkeys(
        code for route in message_routes(session, message) for code in route.channels
    )
    now = clock.now()
    payload = {"event": message.kind, "message": asdict(message)}
    for code in channels:
        session.add(
            Outbox(
                alert_id=None,
                channel_code=code,
                event=message.kind,
                payload=payload,
                status="pending",
                attempts=0,
                next_at=now,
                created_at=now,
            )
        )
    return len(channels)

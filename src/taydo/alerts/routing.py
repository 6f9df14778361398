"""Notification channels, routing policies, silences, and queueing into the outbox.

Routes and escalation chains are data (``routing.yaml`` in a pack, or the API). Channel secrets
(webhook HMAC keys, SMTP passwords) are stored for the workers and never returned or logged.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from taydo.alerts.models import Alert, Channel, Outbox, Route, Silence
from taydo.core import clock
from taydo.core.bounds import Seconds
from taydo.core.db import Database
from taydo.core.errors import Invalid, NotFound
from taydo.core.inputs import INPUT_CONFIG, Moment
from taydo.rules.choices import severity_rank
from taydo.rules.schemas import parse_duration

__all__ = [
    "ChannelIn",
    "Matchers",
    "RouteIn",
    "SilenceIn",
    "active_silences",
    "channel_view",
    "delete_silence",
    "enqueue",
    "list_channels",
    "list_routes",
    "list_silences",
    "load_routing",
    "matching_routes",
    "save_channel",
    "save_routes",
    "silence_matches",
]


class _Strict(BaseModel):
    model_config = ConfigDict(**INPUT_CONFIG, extra="forbid", populate_by_name=True)


class Matchers(_Strict):
    """Empty lists match everything. ``min_severity`` keeps alerts at or above a severity."""

    rules: list[str] = []
    entities: list[str] = []
    areas: list[str] = []
    agencies: list[str] = []
    sectors: list[str] = []
    severities: list[str] = []
    min_severity: str | None = None

    def matches(self, alert: Alert) -> bool:
        return (
            (not self.rules or alert.rule_code in self.rules)
            and (not self.entities or alert.entity_id in self.entities)
            and (not self.areas or alert.area_code in self.areas)
            and (not self.agencies or alert.agency_code in self.agencies)
            and (not self.sectors or alert.sector in self.sectors)
            and (not self.severities or alert.severity in self.severities)
            and (
                self.min_severity is None
                or severity_rank(alert.severity) >= severity_rank(self.min_severity)
            )
        )


class EscalationStep(_Strict):
    after_s: Seconds = Field(alias="after", gt=0)  # unacknowledged this long after firing
    channels: list[str] = Field(min_length=1)

    _d = field_validator("after_s", mode="before")(classmethod(lambda c, v: parse_duration(v)))


class RouteIn(_Strict):
    code: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,80}$")
    name: str = ""
    match: Matchers = Matchers()
    channels: list[str] = []
    renotify_s: Seconds | None = Field(None, alias="renotify", gt=0)
    escalation: list[EscalationStep] = []

    _d = field_validator("renotify_s", mode="before")(
        classmethod(lambda c, v: None if v is None else parse_duration(v))
    )


class ChannelIn(_Strict):
    code: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,80}$")
    kind: Literal["webhook", "email"]
    name: str = ""
    # webhook: {url}; email: {host, port, sender, to: [...], username?, starttls?}
    config: dict[str, Any]
    secret: str | None = None  # HMAC key or SMTP password: write-only
    enabled: bool = True
    max_attempts: int = Field(5, ge=1, le=50)

    @field_validator("config")
    @classmethod
    def _config(cls, value: dict[str, Any], info: Any) -> dict[str, Any]:
        kind = info.data.get("kind")
        if kind == "webhook" and not str(value.get("url", "")).startswith(("http://", "https://")):
            raise ValueError("a webhook needs config.url (http:// or https://)")
        if kind == "email" and (not value.get("host") or not value.get("to")):
            raise ValueError("an email channel needs config.host and config.to")
        return value


class SilenceIn(_Strict):
    kind: Literal["silence", "maintenance"] = "silence"
    match: Matchers
    starts_at: Moment | None = None
    ends_at: Moment
    reason: str = Field(min_length=3)


def _invalid(exc: ValidationError) -> Invalid:
    return Invalid(
        "dữ liệu không hợp lệ / invalid input",
        errors=[
            {"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ],
    )


def channel_view(row: Channel) -> dict[str, Any]:
    """A channel as the API shows it: never the secret, only whether one is set."""
    config = {k: v for k, v in row.config.items() if k not in ("password", "secret")}
    return {
        "code": row.code,
        "kind": row.kind,
        "name": row.name,
        "config": config,
        "has_secret": bool(row.secret),
        "enabled": row.enabled,
        "max_attempts": row.max_attempts,
    }


def save_channel(database: Database, data: ChannelIn) -> dict[str, Any]:
    with database.session() as session:
        row = session.scalar(select(Channel).where(Channel.code == data.code))
        if row is None:
            row = Channel(code=data.code)
            session.add(row)
        row.kind, row.name, row.config = data.kind, data.name, data.config
        row.enabled, row.max_attempts = data.enabled, data.max_attempts
        if data.secret is not None:  # omitted = keep the stored secret
            row.secret = data.secret
        session.flush()
        return channel_view(row)


def list_channels(database: Database) -> list[dict[str, Any]]:
    with database.session() as session:
        return [channel_view(r) for r in session.scalars(select(Channel).order_by(Channel.code))]


def save_routes(database: Database, routes: Iterable[RouteIn], *, source: str = "api") -> int:
    count = 0
    with database.session() as session:
        for position, data in enumerate(routes):
            row = session.scalar(select(Route).where(Route.code == data.code))
            if row is None:
                row = Route(code=data.code)
                session.add(row)
            row.name, row.position, row.source = data.name, position, source
            row.matchers = data.match.model_dump()
            row.channels = list(data.channels)
            row.renotify_s = int(data.renotify_s) if data.renotify_s else None
            row.escalation = [s.model_dump(by_alias=True) for s in data.escalation]
            count += 1
    return count


def list_routes(database: Database) -> list[dict[str, Any]]:
    """Routes in matching order; ``missing_channels``: the channels a route (or its escalation)
    names that do not exist yet, whose deliveries are dead-lettered until they are created."""
    with database.session() as session:
        rows = session.scalars(select(Route).order_by(Route.position, Route.code)).all()
        existing = set(session.scalars(select(Channel.code)))
        out = []
        for r in rows:
            named = [*r.channels, *(c for step in r.escalation for c in step["channels"])]
            out.append(
                {
                    "code": r.code,
                    "name": r.name,
                    "match": r.matchers,
                    "channels": r.channels,
                    "renotify_s": r.renotify_s,
                    "escalation": r.escalation,
                    "missing_channels": sorted(set(named) - existing),
                }
            )
        return out


def load_routing(database: Database, pack: Any) -> int:
    """Load a pack's ``routing.yaml`` (``routes: [...]``); channels come from the API/CLI
    because they hold secrets that never belong in a pack."""
    path = Path(pack.data_dir) / "routing.yaml"
    if not path.exists():
        return 0
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        routes = [RouteIn.model_validate(item) for item in data.get("routes", [])]
    except ValidationError as exc:
        raise _invalid(exc) from exc
    return save_routes(database, routes, source=pack.name)


def matching_routes(session: Session, alert: Alert) -> list[Route]:
    routes = session.scalars(select(Route).order_by(Route.position, Route.code)).all()
    return [r for r in routes if Matchers.model_validate(r.matchers).matches(alert)]


def active_silences(session: Session, now: datetime) -> list[Silence]:
    return list(
        session.scalars(select(Silence).where(Silence.starts_at <= now, Silence.ends_at > now))
    )


def silence_matches(silences: Iterable[Silence], alert: Alert) -> bool:
    return any(Matchers.model_validate(s.matchers).matches(alert) for s in silences)


def enqueue(
    session: Session, alert: Alert, channels: Iterable[str], event: str, payload: dict[str, Any]
) -> int:
    now = clock.now()
    count = 0
    for code in dict.fromkeys(channels):
        session.add(
            Outbox(
                alert_id=alert.id,
                channel_code=code,
                event=event,
                payload=payload,
                status="pending",
                attempts=0,
                next_at=now,
                created_at=now,
            )
        )
        count += 1
    return count


def list_silences(
    database: Database, *, active_only: bool = False, agencies: frozenset[str] | None = None
) -> list[dict[str, Any]]:
    """Newest first. ``agencies`` (an officer's): only the silences that reach their alerts,
    those naming one of their agencies and those naming none (city-wide); None: all."""
    with database.session() as session:
        statement = select(Silence).order_by(Silence.id.desc())
        if active_only:
            statement = statement.where(Silence.ends_at > clock.now())
        return [
            {
                "id": s.id,
                "kind": s.kind,
                "match": s.matchers,
                "starts_at": s.starts_at.isoformat(),
                "ends_at": s.ends_at.isoformat(),
                "reason": s.reason,
                "created_by": s.created_by,
            }
            for s in session.scalars(statement)
            if agencies is None
            or not s.matchers.get("agencies")
            or set(s.matchers["agencies"]) & agencies
        ]


def delete_silence(session: Session, silence_id: int) -> Silence:
    row = session.get(Silence, silence_id)
    if row is None:
        raise NotFound(f"không có lệnh tắt cảnh báo / no silence {silence_id}")
    row.ends_at = min(row.ends_at, clock.now() - timedelta(microseconds=1))
    return row

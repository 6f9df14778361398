"""Quarantine review: list, read, fix-and-replay, discard (service layer of the quarantine API).

Replay re-runs the *same* checks the original gateway ran on the (possibly edited) raw input:
an MQTT entry (``{"topic", "payload"}``) goes through the MQTT parser again; anything else
(HTTP items, file rows, connector records) is an item or a list of items
``{entity_id, metric, ts, value}`` judged by the ingest validator. Entries stay ``pending``
until a replay stores them (``replayed``) or someone discards them (``discarded``); both leave
an audit entry. An agency officer sees only their agencies' entries; any other entry answers
404, as a missing one would.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taydo.auth import journal
from taydo.catalog.series import SeriesIndex
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Conflict, Invalid, NotFound
from taydo.core.jsonbody import MalformedJSON, loads
from taydo.core.runtime import Runtime
from taydo.ingest.models import QuarantineEntry
from taydo.ingest.mqtt.gateway import MqttGateway, iota_services, parse_broker_url
from taydo.ingest.quarantine import raw_text
from taydo.ingest.resolve import EntityResolver
from taydo.ingest.validate import SeriesLookup, validate_items
from taydo.observations.service import ObservationWriter

__all__ = [
    "ReplayPlan",
    "discard",
    "entry_dict",
    "get_entry",
    "list_entries",
    "mark_replayed",
    "plan_replay",
    "replay_entry",
    "replay_parser",
]


def _raw_value(text: str) -> Any:
    """The stored raw input as JSON when it is JSON the app can answer with (no runaway
    nesting, no lone surrogate: either would fail as a 500), else as the text it is."""
    try:
        return loads(text.encode("utf-8", "backslashreplace"))
    except MalformedJSON:
        return text


def entry_dict(entry: QuarantineEntry, *, full: bool = False) -> dict[str, Any]:
    raw = entry.raw if full else entry.raw[:2000]
    return {
        "id": entry.id,
        "source": entry.source,
        "reason": entry.reason,
        "agency": entry.agency_code,
        "status": entry.status,
        "received_at": entry.received_at.isoformat(),
        "raw": _raw_value(raw) if full else raw,
    }


def _visible(principal: Principal) -> Any:
    if principal.sees_everything:
        return None
    return QuarantineEntry.agency_code.in_(sorted(principal.agencies))


def list_entries(
    database: Database,
    principal: Principal,
    *,
    source: str | None = None,
    reason: str | None = None,
    agency: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    conditions = []
    scope = _visible(principal)
    if scope is not None:
        conditions.append(scope)
    if source:
        conditions.append(QuarantineEntry.source == source)
    if agency:
        conditions.append(QuarantineEntry.agency_code == agency)
    if status:
        conditions.append(QuarantineEntry.status == status)
    if reason:
        conditions.append(QuarantineEntry.reason.contains(reason, autoescape=True))
    with database.session() as session:
        total = session.scalar(select(func.count()).select_from(QuarantineEntry).where(*conditions))
        rows = session.scalars(
            select(QuarantineEntry)
            .where(*conditions)
            .order_by(QuarantineEntry.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        return {"total": total or 0, "items": [entry_dict(row) for row in rows]}


def _load(session: Session, principal: Principal, entry_id: int) -> QuarantineEntry:
    entry = session.get(QuarantineEntry, entry_id)
    if entry is None or not principal.may_see_agency(entry.agency_code):
        raise NotFound(f"không có mục cách ly / no quarantine entry {entry_id}")
    return entry


def get_entry(database: Database, principal: Principal, entry_id: int) -> dict[str, Any]:
    with database.session() as session:
        return entry_dict(_load(session, principal, entry_id), full=True)


@dataclass
class ReplayPlan:
    """What a replay would store: writer rows, or the reasons it still fails."""

    entry_id: int
    rows: list[tuple[int, int, float, int]]
    reasons: list[str]
    raw: Any


def _items_of_mqtt(raw: Any, mqtt_parser: Any, principal: Principal) -> tuple[list[Any], list[str]]:
    if not isinstance(raw, dict) or not isinstance(raw.get("topic"), str):
        raise Invalid("mục MQTT cần {topic, payload} / an MQTT entry needs {topic, payload}")
    if "payload_base64" in raw:
        try:
            payload = base64.b64decode(str(raw["payload_base64"]), validate=True)
        except ValueError:
            raise Invalid("payload_base64 không hợp lệ / invalid base64") from None
    else:
        payload = str(raw.get("payload", "")).encode("utf-8")
    batch = mqtt_parser.handle(raw["topic"], payload)
    reasons = [entry.reason for entry in batch.quarantine]
    return batch.points, reasons


def plan_replay(
    database: Database,
    principal: Principal,
    entry_id: int,
    raw: Any | None,
    *,
    series: SeriesLookup,
    mqtt_parser: Any,
) -> ReplayPlan:
    """Re-run validation on the entry's raw input (or on ``raw``, the fixed version)."""
    with database.session() as session:
        entry = _load(session, principal, entry_id)
        if entry.status != "pending":
            raise Conflict(f"mục đã xử lý / entry {entry_id} is already {entry.status}")
        source = entry.source
        if raw is None:
            raw = _raw_value(entry.raw)
        if not principal.may_write_agency(entry.agency_code):
            raise NotFound(f"không có mục cách ly / no quarantine entry {entry_id}")
    if source == "mqtt":
        rows, reasons = _items_of_mqtt(raw, mqtt_parser, principal)
    else:
        items = raw if isinstance(raw, list) else [raw]
        checked = validate_items(
            items,
            series,
            now_ms=clock.now_ms(),
            may_write=principal.may_write_agency,
            coerce_strings=source.startswith("file"),
        )
        rows = checked.rows
        reasons = [f"#{index}: {reason}" for index, reason, _agency in checked.rejected]
    return ReplayPlan(entry_id, rows, reasons, raw)


def mark_replayed(
    database: Database, principal: Principal, plan: ReplayPlan, stored: int, address: str | None
) -> dict[str, Any]:
    with database.session() as session:
        entry = _load(session, principal, plan.entry_id)
        edited = raw_text(plan.raw) != entry.raw
        entry.status = "replayed"
        if edited:
            entry.raw = raw_text(plan.raw)
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="quarantine.replay",
            object_type="quarantine",
            object_id=str(entry.id),
            summary={
                "source": entry.source,
                "edited": edited,
                "rows": len(plan.rows),
                "stored": stored,
            },
            address=address,
        )
        session.flush()
        return entry_dict(entry, full=True)


def replay_parser(runtime: Runtime) -> MqttGateway:
    """The parser replays of MQTT input go through: the running gateway, or, without one, a
    parser built with the same settings."""
    running = runtime.find(MqttGateway)
    if running is not None:
        return running
    settings = runtime.settings
    return MqttGateway(
        parse_broker_url(settings.mqtt_url or "mqtt://127.0.0.1"),
        series=runtime.get(SeriesIndex),
        resolver=runtime.get(EntityResolver),
        write=None,  # type: ignore[arg-type]
        quarantine=None,  # type: ignore[arg-type]
        prefix=settings.mqtt_topic_prefix,
        iota=iota_services(settings.mqtt_iota_services),
    )


async def replay_entry(
    runtime: Runtime, principal: Principal, entry_id: int, raw: Any | None, *, address: str | None
) -> dict[str, Any]:
    """Validate the entry again (or ``raw``, its fixed version), store the rows through the
    app's writer and mark it replayed with the audit. A still-invalid input raises
    ``Invalid`` with the reasons and the entry stays pending."""
    plan = await asyncio.to_thread(
        plan_replay,
        runtime.db,
        principal,
        entry_id,
        raw,
        series=runtime.get(SeriesIndex),
        mqtt_parser=replay_parser(runtime),
    )
    if plan.reasons or not plan.rows:
        raise Invalid(
            "vẫn chưa hợp lệ / still invalid", reasons=plan.reasons or ["no values in the input"]
        )
    result = await runtime.get(ObservationWriter).write_rows(plan.rows)
    entry = await asyncio.to_thread(
        mark_replayed, runtime.db, principal, plan, result.accepted, address
    )
    return {"entry": entry, "accepted": result.accepted, "duplicates": result.duplicates}


def discard(
    database: Database, principal: Principal, entry_id: int, note: str, address: str | None
) -> dict[str, Any]:
    with database.session() as session:
        entry = _load(session, principal, entry_id)
        if not principal.may_write_agency(entry.agency_code):
            raise NotFound(f"không có mục cách ly / no quarantine entry {entry_id}")
        if entry.status != "pending":
            raise Conflict(f"mục đã xử lý / entry {entry_id} is already {entry.status}")
        entry.status = "discarded"
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="quarantine.discard",
            object_type="quarantine",
            object_id=str(entry.id),
            summary={"source": entry.source, "reason": entry.reason[:500], "note": note[:500]},
            address=address,
        )
        session.flush()
        return entry_dict(entry, full=True)

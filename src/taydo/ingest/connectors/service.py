"""Connector instances: create, list, delete, run once, and the in-server schedule.

A run: fetch records newer than the watermark → find each record's entity within the
connector's agency → validate (the one ingest validator) → commit the good values, quarantine
the rest (source ``connector:<name>``): the import pipeline's steps
(``taydo.ingest.pipeline``) → only then save the new watermark and the status. A
crash between commit and status leaves the old watermark: the next run fetches those records
again and the store drops the exact duplicates — no gaps, no duplicates.

Secrets are sealed in the IOC's database (``taydo.core.secrets``: encrypted and authenticated
with a key derived from ``TAYDO_SECRET_KEY``) and are never returned by the API, written to
the journal or to logs (errors are reported without them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import pluggy
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select

from taydo.auth import journal
from taydo.catalog.series import SeriesIndex
from taydo.catalog.service import get_agency
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Conflict, Invalid, NotFound
from taydo.core.inputs import INPUT_CONFIG
from taydo.core.runtime import Runtime
from taydo.core.secrets import SecretBox
from taydo.ingest import pipeline
from taydo.ingest.connectors.base import ConnectorKind, kinds
from taydo.ingest.files.models import Connector
from taydo.ingest.resolve import EntityResolver
from taydo.ingest.validate import SeriesLookup
from taydo.observations.service import ObservationWriter

__all__ = [
    "ConnectorIn",
    "ConnectorPatch",
    "Scheduler",
    "connector_dict",
    "create_connector",
    "delete_connector",
    "get_connector",
    "list_connectors",
    "run_connector",
    "seal_plain_secrets",
    "update_connector",
]

log = logging.getLogger(__name__)


class ConnectorIn(BaseModel):
    model_config = INPUT_CONFIG

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,79}$")
    kind: str
    agency: str
    config: dict[str, Any]
    secret: str | None = Field(None, description="Never returned once stored.")
    interval_s: int = Field(300, ge=10, le=7 * 86400)
    enabled: bool = True


class ConnectorPatch(BaseModel):
    """What an administrator may change on a connector; absent fields stay as they are. An
    empty ``secret`` removes it."""

    model_config = INPUT_CONFIG

    config: dict[str, Any] | None = None
    secret: str | None = Field(None, description="Never returned once stored.")
    interval_s: int | None = Field(None, ge=10, le=7 * 86400)
    enabled: bool | None = None


def connector_dict(row: Connector) -> dict[str, Any]:
    return {
        "name": row.name,
        "kind": row.kind,
        "agency": row.agency_code,
        "config": row.config,
        "has_secret": bool(row.secret),
        "interval_s": row.interval_s,
        "enabled": row.enabled,
        "watermark": row.watermark,
        "last_run_at": row.last_run_at.isoformat() if row.last_run_at else None,
        "last_error": row.last_error,
        "rows_ingested": row.rows_ingested,
    }


def _kind(manager: pluggy.PluginManager, name: str) -> ConnectorKind:
    found = kinds(manager).get(name)
    if found is None:
        raise Invalid(
            f"không có loại kết nối / no connector kind {name!r}", kinds=sorted(kinds(manager))
        )
    return found


def _config(kind: ConnectorKind, config: dict[str, Any]) -> dict[str, Any]:
    try:
        return kind.config_model.model_validate(config).model_dump(mode="json")
    except ValidationError as exc:
        raise Invalid(
            "cấu hình không hợp lệ / invalid connector config",
            problems=[f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()],
        ) from None


def create_connector(
    database: Database,
    manager: pluggy.PluginManager,
    box: SecretBox,
    principal: Principal | None,
    data: ConnectorIn,
    address: str | None = None,
) -> dict[str, Any]:
    config = _config(_kind(manager, data.kind), data.config)
    try:
        get_agency(database, data.agency)
    except NotFound:
        raise Invalid(f"không có cơ quan / no agency {data.agency!r}") from None
    with database.session() as session:
        if session.scalar(select(Connector.id).where(Connector.name == data.name)) is not None:
            raise Conflict(f"đã có kết nối / connector {data.name!r} exists")
        row = Connector(
            name=data.name,
            kind=data.kind,
            agency_code=data.agency,
            config=config,
            secret=box.seal(data.secret) if data.secret else None,
            interval_s=data.interval_s,
            enabled=data.enabled,
            rows_ingested=0,
            created_at=clock.now(),
        )
        session.add(row)
        session.flush()
        out = connector_dict(row)
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="connector.create",
            object_type="connector",
            object_id=data.name,
            summary={k: v for k, v in out.items() if k != "config"},
            address=address,
        )
        return out


def _row(session: Any, name: str) -> Connector:
    row: Connector | None = session.scalar(select(Connector).where(Connector.name == name))
    if row is None:
        raise NotFound(f"không có kết nối / no connector {name!r}")
    return row


def get_connector(database: Database, name: str) -> dict[str, Any]:
    with database.session() as session:
        return connector_dict(_row(session, name))


def list_connectors(database: Database) -> list[dict[str, Any]]:
    with database.session() as session:
        rows = session.scalars(select(Connector).order_by(Connector.name)).all()
        return [connector_dict(row) for row in rows]


def update_connector(
    database: Database,
    manager: pluggy.PluginManager,
    box: SecretBox,
    principal: Principal | None,
    name: str,
    data: ConnectorPatch,
    address: str | None = None,
) -> dict[str, Any]:
    with database.session() as session:
        row = _row(session, name)
        changed = sorted(data.model_fields_set)
        if data.config is not None:
            row.config = _config(_kind(manager, row.kind), data.config)
        if "secret" in data.model_fields_set:
            row.secret = box.seal(data.secret) if data.secret else None
        if data.interval_s is not None:
            row.interval_s = data.interval_s
        if data.enabled is not None:
            row.enabled = data.enabled
        out = connector_dict(row)
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="connector.update",
            object_type="connector",
            object_id=name,
            summary={"changed": changed},
            address=address,
        )
        return out


def seal_plain_secrets(database: Database, box: SecretBox) -> int:
    """Seal the secrets stored in clear by a version before sealing; return how many."""
    with database.session() as session:
        rows = session.scalars(select(Connector).where(Connector.secret.is_not(None))).all()
        plain = [row for row in rows if row.secret and not box.is_sealed(row.secret)]
        for row in plain:
            row.secret = box.seal(row.secret or "")
        return len(plain)


def delete_connector(
    database: Database, principal: Principal | None, name: str, address: str | None = None
) -> None:
    with database.session() as session:
        session.delete(_row(session, name))
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="connector.delete",
            object_type="connector",
            object_id=name,
            summary={},
            address=address,
        )


def _safe(error: Exception, secret: str | None) -> str:
    text = f"{type(error).__name__}: {error}"[:1000]
    return text.replace(secret, "***") if secret else text


def run_connector(
    database: Database,
    manager: pluggy.PluginManager,
    box: SecretBox,
    name: str,
    *,
    series: SeriesLookup,
    resolver: EntityResolver,
    store: Callable[[list[tuple[int, int, float, int]]], int],
) -> dict[str, Any]:
    """Run one connector once (synchronous: call it from a thread in the server)."""
    with database.session() as session:
        row = _row(session, name)
        kind_name, agency, config = row.kind, row.agency_code, row.config
        sealed, watermark = row.secret, row.watermark
    stored = rejected = 0
    error: str | None = None
    new_mark = watermark
    secret: str | None = None
    try:
        secret = box.open(sealed) if sealed else None
        kind = _kind(manager, kind_name)
        fetched = kind.fetch(kind.config_model.model_validate(config), secret, watermark)
        items: list[dict[str, Any]] = []
        raws: list[Any] = []
        refused: list[tuple[Any, str, str | None]] = []  # (raw, reason, agency) to quarantine
        for rec in fetched.records:
            if "error" in rec:
                refused.append((rec.get("raw"), rec["error"], agency))
                continue
            key = str(rec["entity"])
            entity_id, ambiguous = pipeline.resolve_station(resolver, agency, key)
            if ambiguous is not None:
                refused.append((rec.get("raw"), ambiguous, agency))
                continue
            item = {
                "entity_id": entity_id or key,  # an unknown station: the validator says so
                "metric": rec["metric"],
                "ts": rec["ts"],
                "value": rec["value"],
            }
            items.append(item)
            raws.append(rec.get("raw"))
        checked = pipeline.validate(
            items,
            [{"item": item, "record": raw} for item, raw in zip(items, raws, strict=True)],
            series,
            may_write=lambda owner: owner == agency,
            coerce_strings=True,
        )
        refused += [(origin, reason, agency) for origin, reason, _owner in checked.rejected]
        stored = pipeline.commit(checked.rows, store)
        pipeline.quarantine_rejected(database, f"connector:{name}"[:40], refused)
        rejected = len(refused)
        if fetched.watermark is not None:
            new_mark = fetched.watermark
    except Exception as exc:  # the status shows it; the next run tries again
        error = _safe(exc, secret)
        log.warning("connector %s failed: %s", name, error)
    with database.session() as session:
        row = _row(session, name)
        row.last_run_at = clock.now()
        row.last_error = error
        row.watermark = new_mark
        row.rows_ingested = (row.rows_ingested or 0) + stored
        out = connector_dict(row)
    out["run"] = {"stored": stored, "rejected": rejected, "error": error}
    return out


class Scheduler:
    """Runs due connectors inside the server, one at a time, each in a worker thread."""

    def __init__(self, runtime: Runtime, tick_s: float = 1.0) -> None:
        self._runtime = runtime
        self._tick = tick_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="connectors")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _due(self) -> list[str]:
        now = clock.now()
        due = []
        with self._runtime.db.session() as session:
            for row in session.scalars(select(Connector).where(Connector.enabled.is_(True))):
                last = row.last_run_at
                if last is not None and last.tzinfo is None:
                    last = last.replace(tzinfo=now.tzinfo)
                if last is None or (now - last).total_seconds() >= row.interval_s:
                    due.append(row.name)
        return due

    async def run_once(self, name: str) -> dict[str, Any]:
        runtime = self._runtime
        writer = runtime.get(ObservationWriter)
        loop = asyncio.get_running_loop()

        store = pipeline.writer_store(writer, loop)
        return await asyncio.to_thread(
            run_connector,
            runtime.db,
            runtime.plugins,
            runtime.secrets,
            name,
            series=runtime.get(SeriesIndex),
            resolver=runtime.get(EntityResolver),
            store=store,
        )

    async def _run(self) -> None:
        while True:
            try:
                for name in await asyncio.to_thread(self._due):
                    await self.run_once(name)
            except Exception:
                log.exception("connector schedule failed")
            await asyncio.sleep(self._tick)

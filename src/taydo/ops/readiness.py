"""Is this process ready for traffic? Each check answers quickly and names what is wrong.

``/healthz`` says only that the process answers (a liveness probe: restart it if not);
``/readyz`` runs these checks (a readiness probe: send it no traffic while one fails).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import text

from taydo.core.migrate import alembic_config, current_heads
from taydo.core.runtime import Runtime
from taydo.ingest.mqtt.gateway import MqttGateway
from taydo.observations.service import ObservationWriter

__all__ = ["CHECK_TIMEOUT_S", "Check", "Readiness"]

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 2.0
# The writer is drowning when this many transactions' worth of rows wait for it.
QUEUE_TRANSACTIONS_READY = 10


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)  # numbers and states, no secrets


@dataclass
class Readiness:
    """The checks of one app; the code's migration scripts are read once."""

    runtime: Runtime
    _script: ScriptDirectory | None = None

    async def checks(self) -> list[Check]:
        return [
            await self._database(),
            await self._migrations(),
            self._bus(),
            self._mqtt(),
            self._writer(),
        ]

    async def _in_thread(self, name: str, work: Any) -> tuple[bool, Any]:
        try:
            return True, await asyncio.wait_for(asyncio.to_thread(work), CHECK_TIMEOUT_S)
        except Exception as exc:  # the reason goes to the log, not to the anonymous caller
            log.warning("readiness check %s failed: %s: %s", name, type(exc).__name__, exc)
            return False, None

    async def _database(self) -> Check:
        def ping() -> None:
            with self.runtime.db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))

        ok, _ = await self._in_thread("database", ping)
        return Check("database", ok, {"dialect": self.runtime.db.dialect})

    async def _migrations(self) -> Check:
        database = self.runtime.db

        def pending() -> list[str]:
            # Every revision of the code that is not below what the database holds (a
            # branch's head that another branch depends on is not stored itself: the walk
            # down from the stored heads, dependencies included, knows that).
            if self._script is None:
                self._script = ScriptDirectory.from_config(alembic_config(database))
            stored = tuple(current_heads(database))
            applied = (
                {r.revision for r in self._script.iterate_revisions(stored, "base")}
                if stored
                else set()
            )
            return sorted({r.revision for r in self._script.walk_revisions()} - applied)

        ok, missing = await self._in_thread("migrations", pending)
        if not ok:
            return Check("migrations", False, {"state": "unknown revision or no database"})
        return Check("migrations", not missing, {"pending": missing})

    def _bus(self) -> Check:
        bus = self.runtime.bus
        return Check("bus", bus.healthy(), {"kind": type(bus).__name__})

    def _mqtt(self) -> Check:
        if not self.runtime.settings.mqtt_url:
            return Check("mqtt", True, {"state": "off"})
        gateway = self.runtime.find(MqttGateway)
        connected = gateway is not None and gateway.connected.is_set()
        return Check("mqtt", connected, {"state": "connected" if connected else "disconnected"})

    def _writer(self) -> Check:
        writer = self.runtime.find(ObservationWriter)
        if writer is None:
            return Check("writer", False, {"state": "not started"})
        limit = QUEUE_TRANSACTIONS_READY * self.runtime.settings.commit_max_rows
        depth = writer.pending_rows
        ok = writer.alive and depth <= limit
        detail: dict[str, Any] = {"queue_rows": depth, "queue_limit": limit}
        if not writer.alive:  # the reason is in the log (critical), not for an anonymous caller
            detail["state"] = "failed" if writer.failure else "stopped"
        return Check("writer", ok, detail)

"""Leases: which process of a cluster does what (issue 15).

Two kinds of work must not be done twice when several IOC processes share one database and
one bus:

* **duties** — singletons such as the absence/composite timer, the re-notification and
  escalation clock, connector schedules, the data-health checker, compaction. Each is a named
  lease; the process holding it runs the duty (``gain``) and stops it when the lease goes
  (``lose``).
* **shards** — the rule evaluation of the series, split into ``shards`` parts by entity. Each
  process holds a fair share (``ceil(shards / members)``); each series is judged by the one
  process holding its shard.

``LocalLeases`` (one process: SQLite or the in-process bus) holds everything at once and
costs nothing: the single-process IOC behaves exactly as before. ``PgLeases`` keeps them as
PostgreSQL session-level advisory locks on one dedicated connection: no table, nothing to
clean up, and a process that dies (kill -9, power loss) loses its locks as soon as the server
sees its connection close, so a survivor takes them over at its next check (every
``check_s``, one second by default). The members are the sessions that carry this cluster's
``application_name``, so a process counts itself and its peers without a heartbeat table.
A lost lease connection is a lost lease: every duty stops and every shard is dropped until
the connection is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

__all__ = ["Leases", "LocalLeases", "PgLeases", "ShardListener", "create_leases"]

log = logging.getLogger(__name__)

Step = Callable[[], Awaitable[None]]
# Called with the shards now held, before those given up are unlocked (a hand-over: the
# listener finishes what it judged of them first) and after the new ones are locked.
ShardListener = Callable[[frozenset[int]], Awaitable[None]]


async def _nothing() -> None:
    return None


@dataclass
class _Duty:
    name: str
    gain: Step
    lose: Step
    held: bool = False


def member_name() -> str:
    """This process in logs and in ``pg_stat_activity``: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Leases:
    """What every lease backend offers; this base is the single-process one (all held)."""

    def __init__(self, shards: int = 32) -> None:
        self.shards = max(1, shards)
        self.owned: frozenset[int] = frozenset(range(self.shards))
        self._duties: dict[str, _Duty] = {}
        self._listeners: list[ShardListener] = []
        self.member = member_name()

    @property
    def clustered(self) -> bool:
        """True when other processes may hold shards and duties (work must be filtered)."""
        return False

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        """Stop every duty held (the reverse of their gain)."""
        for duty in reversed(list(self._duties.values())):
            await self._lose(duty)

    def holding(self, name: str) -> bool:
        duty = self._duties.get(name)
        return duty is not None and duty.held

    async def duty(self, name: str, gain: Step = _nothing, lose: Step = _nothing) -> None:
        """Run ``gain`` when this process holds the lease ``name`` (at once when it can) and
        ``lose`` when it gives it up. Without steps, ``holding(name)`` tells a periodic task
        whether to do its work this time (e.g. compaction)."""
        duty = self._duties[name] = _Duty(name, gain, lose)
        await self._try(duty)

    async def drop_duty(self, name: str) -> None:
        duty = self._duties.pop(name, None)
        if duty is not None:
            await self._lose(duty)

    def on_shards(self, listener: ShardListener) -> None:
        self._listeners.append(listener)

    def off_shards(self, listener: ShardListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def shard_of(self, key: int) -> int:
        return key % self.shards

    # -- backend hooks -------------------------------------------------------------------
    async def _try(self, duty: _Duty) -> None:
        if not duty.held:
            duty.held = True
            await self._gain(duty)

    async def _gain(self, duty: _Duty) -> None:
        if self.clustered:  # one process holds everything: nothing worth a log line
            log.info("lease %s: held by %s", duty.name, self.member)
        try:
            await duty.gain()
        except Exception:
            log.exception("starting the duty %s failed", duty.name)

    async def _lose(self, duty: _Duty) -> None:
        if not duty.held:
            return
        duty.held = False
        try:
            await duty.lose()
        except Exception:
            log.exception("stopping the duty %s failed", duty.name)

    async def _tell(self, owned: frozenset[int]) -> None:
        self.owned = owned
        for listener in list(self._listeners):
            try:
                await listener(owned)
            except Exception:
                log.exception("a shard listener failed on a hand-over")


class LocalLeases(Leases):
    """One process: every duty and every shard is this process's (the default)."""


def _key(text_: str) -> int:
    """A stable signed 32-bit key (advisory locks take two int4)."""
    return int.from_bytes(
        hashlib.blake2b(text_.encode(), digest_size=4).digest(), "big", signed=True
    )


class PgLeases(Leases):
    """Advisory locks on one dedicated PostgreSQL connection, checked every ``check_s``."""

    def __init__(self, url: str, *, shards: int = 32, check_s: float = 1.0) -> None:
        super().__init__(shards)
        self.url = url
        self.check_s = check_s
        self._engine: Any = None
        self._connection: Any = None
        self._namespace = 0
        self._tag = ""
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # one check at a time (the loop, duty(), close())
        self.owned = frozenset()

    @property
    def clustered(self) -> bool:
        return True

    # -- the connection (blocking: run in a thread) -----------------------------------------
    def _connect(self) -> None:
        if self._connection is not None:
            return
        if self._engine is None:
            self._engine = create_engine(self.url, poolclass=NullPool)
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        where = connection.execute(text("SELECT current_database(), current_schema()")).one()
        scope = f"{where[0]}/{where[1]}"
        self._namespace = _key("taydo-lease:" + scope)
        # The members of this cluster: the sessions with this name (at most 63 bytes).
        self._tag = f"taydo-cluster:{_key(scope) & 0xFFFFFFFF:08x}"
        connection.execute(
            text("SELECT set_config('application_name', :tag, false)"), {"tag": self._tag}
        )
        self._connection = connection

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.execute(text("SELECT pg_advisory_unlock_all()"))
            with contextlib.suppress(Exception):
                connection.close()

    def _members(self) -> int:
        found = self._connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name = :tag AND datname = current_database()"
            ),
            {"tag": self._tag},
        ).scalar_one()
        return max(1, int(found))

    def _lock_key(self, name: str) -> int:
        return _key(name)

    def _try_lock(self, key: int) -> bool:
        return bool(
            self._connection.execute(
                text("SELECT pg_try_advisory_lock(:ns, :key)"), {"ns": self._namespace, "key": key}
            ).scalar_one()
        )

    def _unlock(self, key: int) -> None:
        self._connection.execute(
            text("SELECT pg_advisory_unlock(:ns, :key)"), {"ns": self._namespace, "key": key}
        )

    def _unlock_shards(self, shards: frozenset[int]) -> None:
        for shard in shards:
            self._unlock(self._shard_key(shard))

    def _shard_key(self, shard: int) -> int:
        return _key(f"shard:{shard}")

    def _plan(self) -> tuple[frozenset[int], frozenset[int]]:
        """Shards to give up and shards taken now (locked here): towards a fair share."""
        fair = math.ceil(self.shards / self._members())
        owned = set(self.owned)
        extra = frozenset(sorted(owned, reverse=True)[: max(0, len(owned) - fair)])
        taken: set[int] = set()
        if len(owned) < fair:
            # Start the search at a place of our own, so peers do not all race for shard 0.
            start = _key(self.member) % self.shards
            for step in range(self.shards):
                shard = (start + step) % self.shards
                if shard in owned:
                    continue
                if self._try_lock(self._shard_key(shard)):
                    taken.add(shard)
                    if len(owned) + len(taken) >= fair:
                        break
        return extra, frozenset(taken)

    # -- the check -------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is not None:
            return  # the same app started again on another loop: one check loop
        await self._check()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="leases")

    async def close(self) -> None:
        """Hand everything over: stop the duties, tell the shard listeners, unlock, and close
        the connection (the peers take over at their next check)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        async with self._lock:
            for duty in reversed(list(self._duties.values())):
                await self._lose(duty)
            if self.owned:
                await self._tell(frozenset())
            await asyncio.to_thread(self._disconnect)
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.check_s)
            await self._check()

    async def _check(self) -> None:
        async with self._lock:
            try:
                await asyncio.to_thread(self._connect)
                extra, taken = await asyncio.to_thread(self._plan)
            except Exception as exc:
                await self._lost(exc)
                return
            if extra or taken:
                await self._tell((self.owned - extra) | taken)  # hand over, then unlock
                log.info("lease: %s holds shards %s", self.member, sorted(self.owned))
                if extra:
                    log.info("lease: %s hands over shards %s", self.member, sorted(extra))
                    with contextlib.suppress(Exception):
                        await asyncio.to_thread(self._unlock_shards, extra)
            for duty in list(self._duties.values()):
                if not duty.held:
                    await self._try_unlocked(duty)

    async def _lost(self, exc: Exception) -> None:
        """The lease connection failed: whatever it held may be a peer's by now."""
        if self.owned or any(d.held for d in self._duties.values()):
            log.warning("lease connection lost (%s): stopping every duty and shard", exc)
        for duty in self._duties.values():
            await self._lose(duty)
        if self.owned:
            await self._tell(frozenset())
        await asyncio.to_thread(self._disconnect)

    async def _try(self, duty: _Duty) -> None:
        async with self._lock:
            try:
                await asyncio.to_thread(self._connect)
            except Exception as exc:
                log.warning("lease connection failed (%s); trying again", exc)
                return
            await self._try_unlocked(duty)

    async def _try_unlocked(self, duty: _Duty) -> None:
        try:
            won = await asyncio.to_thread(self._try_lock, self._lock_key(duty.name))
        except Exception as exc:
            log.warning("lease %s not taken (%s)", duty.name, exc)
            return
        if won and not duty.held:
            duty.held = True
            await self._gain(duty)

    async def _lose(self, duty: _Duty) -> None:
        was_held = duty.held
        await super()._lose(duty)
        if was_held and self._connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self._unlock, self._lock_key(duty.name))

    async def drop_duty(self, name: str) -> None:
        async with self._lock:
            await super().drop_duty(name)


def create_leases(database_url: str, bus_url: str, *, shards: int, check_s: float) -> Leases:
    """Advisory-lock leases when the IOC can run as a cluster (PostgreSQL and NATS);
    otherwise the single process holds everything."""
    if database_url.startswith("postgresql") and bus_url.startswith("nats://"):
        return PgLeases(database_url, shards=shards, check_s=check_s)
    return LocalLeases(shards)

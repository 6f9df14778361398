"""Refused actions in the audit journal, without letting an attacker flood it.

Every 401 and 403 the server answers (seen by the admission middleware's request observer,
so the API, the console, NGSI-LD and the login form alike), every throttled login (429) and
every refused login form (another site, no token) is a *denial*. Writing each one would let
anybody grow the hash-chained journal — and its lock, which every state change queues on — as
fast as they can send requests. So denials are aggregated by *who* (actor, client address)
and *what* (action):

* the first denial of a key in a window (``WINDOW_S``, one minute) is journalled at once
  (``auth.denied`` or ``auth.login_throttled`` …), with its status, method and route
  template;
* the next ones of that key in the same window are only counted, and when the window ends
  one entry (``auth.denied_repeated``) says how many, when the first and last came and which
  routes (at most ``SAMPLE_ROUTES``);
* at most ``MAX_KEYS`` keys are tracked per window; denials of further keys (an attacker
  rotating addresses or usernames) are counted into one ``auth.denied_overflow`` entry per
  window, with a few sample keys.

So a flood costs at most ``2 × MAX_KEYS + 1`` journal entries per minute, whatever its rate,
and nothing is forgotten: every denial is in an entry or in an entry's count. Journal writes
happen on a background task in batches (one transaction), never on the request's path; the
queue is bounded by the same arithmetic. docs/security.md says the same for operators.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from taydo.auth import journal
from taydo.core.admission import RequestOutcome
from taydo.core.db import Database

__all__ = ["MAX_KEYS", "WINDOW_S", "DeniedJournal"]

log = logging.getLogger(__name__)

WINDOW_S = 60.0
MAX_KEYS = 100
SAMPLE_ROUTES = 5
SAMPLE_OVERFLOW = 10
FLUSH_EVERY_S = 1.0
MAX_QUEUED = 10_000  # entries kept while the database is away


@dataclass
class _Window:
    started: float  # monotonic
    first_at: float  # wall clock (epoch seconds) of the first denial
    last_at: float
    repeated: int = 0  # counted after the first, not journalled one by one
    routes: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class _Entry:
    actor: str
    action: str
    object_id: str
    summary: dict[str, Any]
    address: str | None


class DeniedJournal:
    """One per app (``runtime.get(DeniedJournal)``); started and stopped by the auth domain."""

    def __init__(self, database: Database, *, clock: Any = time.monotonic) -> None:
        self._database = database
        self._clock = clock
        self._windows: dict[tuple[str, str, str], _Window] = {}
        self._overflow: Counter[str] = Counter()
        self._overflow_samples: list[str] = []
        self._overflow_since: float | None = None
        self._queue: list[_Entry] = []
        self._task: asyncio.Task[None] | None = None
        self._lock = threading.Lock()  # noted from the loop and from sync handlers' threads
        self.noted = 0  # every denial seen (for the metrics and tests)
        self.written = 0  # journal entries written

    # ------------------------------------------------------------------ noting (event loop)

    def observe(self, outcome: RequestOutcome) -> None:
        """The request observer: every 401/403 answer is a denial."""
        if outcome.status not in (401, 403):
            return
        principal = outcome.scope.get("taydo.principal")
        actor = getattr(principal, "username", None) or "anonymous"
        client = outcome.scope.get("client")
        address = str(client[0]) if client else None
        self.note(
            "auth.denied",
            actor=actor,
            address=address,
            detail={"status": outcome.status, "method": outcome.method, "route": outcome.route},
        )

    def note(self, action: str, *, actor: str, address: str | None, detail: dict[str, Any]) -> None:
        """One denial. Cheap and never blocking: the journal is written by ``flush``."""
        with self._lock:
            self._note(action, actor, address, detail)

    def _note(self, action: str, actor: str, address: str | None, detail: dict[str, Any]) -> None:
        self.noted += 1
        now = self._clock()
        actor = actor[:120]
        key = (action, actor, address or "")
        route = f"{detail.get('method', '')} {detail.get('route', '')}".strip()
        window = self._windows.get(key)
        if window is not None and now - window.started < WINDOW_S:
            window.repeated += 1
            window.last_at = time.time()
            window.routes[route] += 1
            return
        if window is not None:  # its window ended: say how many, then start a new one
            self._close(key, window)
        if len(self._windows) >= MAX_KEYS:
            if self._overflow_since is None:
                self._overflow_since = now
            self._overflow[action] += 1
            sample = f"{actor}@{address or '?'}"
            if len(self._overflow_samples) < SAMPLE_OVERFLOW and sample not in (
                self._overflow_samples
            ):
                self._overflow_samples.append(sample)
            return
        self._windows[key] = _Window(started=now, first_at=time.time(), last_at=time.time())
        self._queue.append(_Entry(actor, action, route or action, dict(detail), address))

    def _close(self, key: tuple[str, str, str], window: _Window) -> None:
        del self._windows[key]
        if window.repeated == 0:
            return
        action, actor, address = key
        self._queue.append(
            _Entry(
                actor,
                "auth.denied_repeated",
                action,
                {
                    "action": action,
                    "count": window.repeated,
                    "first_at": round(window.first_at, 3),
                    "last_at": round(window.last_at, 3),
                    "routes": dict(window.routes.most_common(SAMPLE_ROUTES)),
                },
                address or None,
            )
        )

    def close_windows(self, *, everything: bool = False) -> None:
        """Turn the windows that ended (all of them when stopping) into summary entries."""
        with self._lock:
            self._close_windows(everything)

    def _close_windows(self, everything: bool) -> None:
        now = self._clock()
        for key, window in list(self._windows.items()):
            if everything or now - window.started >= WINDOW_S:
                self._close(key, window)
        since = self._overflow_since
        if since is not None and (everything or now - since >= WINDOW_S):
            self._queue.append(
                _Entry(
                    "anonymous",
                    "auth.denied_overflow",
                    "denials",
                    {
                        "counts": dict(self._overflow),
                        "window_s": WINDOW_S,
                        "samples": list(self._overflow_samples),
                    },
                    None,
                )
            )
            self._overflow.clear()
            self._overflow_samples.clear()
            self._overflow_since = None

    # ------------------------------------------------------------------ writing (a thread)

    def write(self, entries: list[_Entry]) -> None:
        """Journal ``entries`` in one transaction (on a worker thread)."""
        with self._database.session() as session:
            for entry in entries:
                journal.record(
                    session,
                    actor=entry.actor,
                    action=entry.action,
                    object_type="request",
                    object_id=entry.object_id,
                    summary=entry.summary,
                    address=entry.address,
                )
        self.written += len(entries)

    async def flush(self, *, everything: bool = False) -> int:
        """Close ended windows and journal what is queued; returns how many entries."""
        self.close_windows(everything=everything)
        with self._lock:
            entries, self._queue = self._queue, []
        if not entries:
            return 0
        try:
            await asyncio.to_thread(self.write, entries)
        except BaseException:
            # Kept for the next try (the database may be away a moment), within a bound.
            with self._lock:
                self._queue = (entries + self._queue)[-MAX_QUEUED:]
            raise
        return len(entries)

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="denied-journal")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.flush(everything=True)
        except Exception:
            log.exception("could not journal the last denials")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            try:
                await self.flush()
            except Exception:  # the database may be away a moment: the queue is kept
                log.exception("journalling denials failed; will retry")

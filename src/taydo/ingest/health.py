"""Data health — "đúng, đủ, sạch, sống" (correct, complete, clean, current) — per dataset.

* **sống / current** (freshness): age of the newest value of any series of the dataset against
  the dataset's expected interval: ``fresh`` up to 2 intervals, ``late`` up to 5, ``stale``
  beyond (or when nothing ever arrived). A dataset no series belongs to is ``no-source``: no
  station or feed is registered for it, so there is nothing that could be late — counting it
  as stale would be a permanent false alarm that teaches operators to ignore the count.
* **đủ / complete** (completeness): values received over the last 24 hours against the values
  expected (series × 24 h ÷ interval), capped at 1.
* **sạch, đúng / clean, correct** (validity): the share of input rejected over 24 hours, i.e.
  quarantined entries against stored values plus quarantined entries. Quarantine entries carry
  the agency, not the dataset, so this share is the *agency's* (said so in the answer).

A periodic check inside the server publishes ``dataset.stale`` on the bus when a dataset turns
stale (a transition: the first check after start-up only sets the baseline).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import func, select

from taydo.catalog.service import DatasetRef, dataset_ref, dataset_refs, dataset_series_ids
from taydo.core import clock
from taydo.core.bus import Bus
from taydo.core.db import Database
from taydo.ingest.models import QuarantineEntry
from taydo.observations.latest import newest_ts
from taydo.observations.query import count_points

__all__ = [
    "LATE_FACTOR",
    "NO_SOURCE",
    "STALE_FACTOR",
    "HealthWatcher",
    "dataset_health",
    "freshness",
    "health_of_all",
]

LATE_FACTOR = 2  # older than 2 intervals: late
NO_SOURCE = "no-source"  # no series belongs to the dataset: nothing is expected yet
STALE_FACTOR = 5  # older than 5 intervals: stale
DAY_MS = 86_400_000


def freshness(age_ms: int | None, interval_s: int) -> str:
    if age_ms is None:
        return "stale"
    interval_ms = max(interval_s, 1) * 1000
    if age_ms <= LATE_FACTOR * interval_ms:
        return "fresh"
    if age_ms <= STALE_FACTOR * interval_ms:
        return "late"
    return "stale"


def _health(connection: Any, dataset: DatasetRef, now: int) -> dict[str, Any]:
    agency = dataset.agency
    series = dataset_series_ids(connection, dataset.id)
    since = now - DAY_MS
    last = received = 0
    if series:
        last = newest_ts(connection, series) or 0
        received = count_points(connection, series, since)  # raw and packed
    rejected = (
        connection.execute(
            select(func.count())
            .select_from(QuarantineEntry)
            .where(
                QuarantineEntry.agency_code == agency,
                QuarantineEntry.received_at >= clock.ms_to_datetime(since),
            )
        ).scalar()
        or 0
    )
    interval = max(int(dataset.update_interval_s), 1)
    expected = len(series) * (DAY_MS // (interval * 1000))
    age = now - int(last) if last else None
    return {
        "dataset": dataset.code,
        "name": dataset.name,
        "agency": agency,
        "series": len(series),
        "update_interval_s": interval,
        "freshness": {
            "status": freshness(age, interval) if series else NO_SOURCE,
            "last_ts": clock.ms_to_datetime(int(last)).isoformat() if last else None,
            "age_s": round(age / 1000) if age is not None else None,
        },
        "completeness": {
            "received_24h": int(received),
            "expected_24h": int(expected),
            "ratio": round(min(received / expected, 1.0), 4) if expected else None,
        },
        "validity": {
            "rejected_24h": int(rejected),
            "rejected_share": round(rejected / (received + rejected), 4)
            if received + rejected
            else 0.0,
            "scope": "agency",
        },
    }


def dataset_health(database: Database, code: str, *, now_ms: int | None = None) -> dict[str, Any]:
    now = now_ms if now_ms is not None else clock.now_ms()
    with database.session() as session:
        return _health(session, dataset_ref(session, code), now)


def health_of_all(database: Database, *, now_ms: int | None = None) -> list[dict[str, Any]]:
    now = now_ms if now_ms is not None else clock.now_ms()
    with database.session() as session:
        return [_health(session, dataset, now) for dataset in dataset_refs(session)]


class HealthWatcher:
    """Checks every dataset periodically; publishes ``dataset.stale`` on a turn to stale."""

    def __init__(self, database: Database, bus: Bus, interval_s: float) -> None:
        self._database = database
        self._bus = bus
        self._interval = interval_s
        self._previous: dict[str, str] | None = None
        self._task: asyncio.Task[None] | None = None

    async def check(self, now_ms: int | None = None) -> list[str]:
        """One check; returns the datasets that just went stale (and were announced)."""
        report = await asyncio.to_thread(health_of_all, self._database, now_ms=now_ms)
        current = {item["dataset"]: item["freshness"]["status"] for item in report}
        turned: list[str] = []
        if self._previous is not None:
            for item in report:
                code = item["dataset"]
                if current[code] == "stale" and self._previous.get(code, "stale") != "stale":
                    turned.append(code)
                    await self._bus.publish(
                        "dataset.stale",
                        {
                            "dataset": code,
                            "agency": item["agency"],
                            "last_ts": item["freshness"]["last_ts"],
                            "age_s": item["freshness"]["age_s"],
                            "update_interval_s": item["update_interval_s"],
                        },
                    )
        self._previous = current
        return turned

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="data-health")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:  # the next round tries again
                logging.getLogger(__name__).exception("data-health check failed")
            await asyncio.sleep(self._interval)

"""The one import pipeline: parse → map columns → validate → commit → per-row report.

Every batch of values that arrives from outside goes through these steps, whichever door it
came in by:

- a file uploaded through the console or the API, or given to ``taydo import file``
  (``files.service.run_import``: a dataset's column mapping names the columns; the report
  is kept with the upload);
- ``taydo import observations`` (``ingest.cli``: a file already in the canonical columns
  entity_id, metric, ts, value; the report is a rejected-rows CSV and the quarantine);
- a pull connector's run (``connectors.service.run_connector``: records fetched from an
  agency's system; the report is the quarantine).

Parsing differs by door (a spreadsheet, a CSV or JSON Lines file, a fetched document); from
the station column on, the steps are these functions, so a value is accepted or refused for
the same reason whichever way it came.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from taydo.core import clock
from taydo.core.db import Database
from taydo.ingest import quarantine
from taydo.ingest.resolve import Ambiguous, EntityResolver
from taydo.ingest.validate import SeriesLookup, validate_items
from taydo.observations.service import ObservationWriter, write_rows

__all__ = [
    "Checked",
    "Row",
    "Store",
    "commit",
    "direct_store",
    "quarantine_rejected",
    "resolve_station",
    "validate",
    "writer_store",
]

Row = tuple[int, int, float, int]  # (series_id, ts in epoch ms, value, quality)
Store = Callable[[list[Row]], int]  # commits rows in one go; returns how many were new
Origin = TypeVar("Origin")


def resolve_station(
    resolver: EntityResolver, agency: str | None, station: str
) -> tuple[str | None, str | None]:
    """Map the station column to an entity of the agency: ``(entity_id, None)``;
    ``(None, None)`` when no entity answers to it (or it is empty); ``(None, reason)`` when
    several do."""
    station = station.strip()
    if not station:
        return None, None
    try:
        return resolver.resolve(agency, station), None
    except Ambiguous as exc:
        return None, str(exc)


@dataclass(slots=True)
class Checked(Generic[Origin]):
    """Rows ready to commit, and each refused item's origin with the reason and agency."""

    rows: list[Row] = field(default_factory=list)
    rejected: list[tuple[Origin, str, str | None]] = field(default_factory=list)


def validate(
    items: Sequence[Any],
    origins: Sequence[Origin],
    series: SeriesLookup,
    *,
    may_write: Callable[[str | None], bool] | None = None,
    coerce_strings: bool = False,
) -> Checked[Origin]:
    """The one ingest validator over mapped items (``{entity_id, metric, ts, value}``);
    ``origins[i]`` says where ``items[i]`` came from (a row and column, a line, a record), so
    that each door reports a refusal where its user will look for it."""
    checked = validate_items(
        items,
        series,
        now_ms=clock.now_ms(),
        may_write=may_write,
        coerce_strings=coerce_strings,
    )
    rejected = [(origins[index], reason, agency) for index, reason, agency in checked.rejected]
    return Checked(checked.rows, rejected)


def commit(rows: list[Row], store: Store) -> int:
    """Store the accepted rows (nothing to do for none); how many were new."""
    return store(rows) if rows else 0


def direct_store(database: Database, timezone: str | None = None) -> Store:
    """Commit straight to the database (command-line imports and runs: no server around)."""
    return lambda rows: write_rows(database, rows, timezone=timezone)[0].accepted


def writer_store(writer: ObservationWriter, loop: asyncio.AbstractEventLoop) -> Store:
    """Commit through the server's observation writer (``write_rows`` on ``loop``), from a
    worker thread; answers once the rows are committed."""

    def store(rows: list[Row]) -> int:
        future = asyncio.run_coroutine_threadsafe(writer.write_rows(rows), loop)
        return int(future.result().accepted)

    return store


def quarantine_rejected(
    database: Database, source: str, rejected: Sequence[tuple[Any, str, str | None]]
) -> None:
    """Keep refused values, as ``(raw, reason, agency)``, in the quarantine under ``source``
    (to fix and replay), where the door has no report of its own that people keep."""
    if rejected:
        quarantine.put_many(
            database,
            [quarantine.Entry(source, reason, raw, agency) for raw, reason, agency in rejected],
        )

"""The Data page's live parts: dataset health badges, pull connectors' status and the
quarantine browser.

They come from the ingestion domain's services (``taydo.ingest.health``,
``taydo.ingest.connectors``, ``taydo.ingest.replay``); this module only adapts their answers
to what the page shows.
"""

from __future__ import annotations

import json
from typing import Any

from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.runtime import Runtime
from taydo.ingest import replay as service
from taydo.ingest.connectors.service import list_connectors
from taydo.ingest.health import health_of_all
from taydo.web.i18n import N_

__all__ = [
    "HEALTH_LABELS",
    "connector_status",
    "discard",
    "entry",
    "health_by_dataset",
    "quarantine_page",
    "replay",
    "stale_count",
]

HEALTH_LABELS = {
    "fresh": N_("Kịp thời"),
    "late": N_("Chậm"),
    "stale": N_("Quá hạn"),
    "no-source": N_("Chưa có nguồn"),
}


def _health_of_all(database: Database) -> list[dict[str, Any]]:
    return list(health_of_all(database))


def health_by_dataset(database: Database) -> dict[str, dict[str, Any]]:
    """Dataset code → {status fresh/late/stale, completeness 0..1 or None, last_at}."""
    return {
        h["dataset"]: {
            "status": h["freshness"]["status"],
            "completeness": h["completeness"]["ratio"],
            "last_at": h["freshness"]["last_ts"],
        }
        for h in _health_of_all(database)
    }


def stale_count(database: Database, principal: Principal) -> int:
    """How many datasets the principal may see are stale."""
    found = _health_of_all(database)
    return sum(
        1
        for h in found
        if h["freshness"]["status"] == "stale" and principal.may_see_agency(h["agency"])
    )


def quarantine_page(
    database: Database, principal: Principal, *, status: str = "pending", limit: int = 100
) -> dict[str, Any]:
    """The newest quarantined inputs the principal may see."""
    return service.list_entries(database, principal, status=status or None, limit=limit)


def entry(database: Database, principal: Principal, entry_id: int) -> dict[str, Any]:
    """One entry in full, its raw input as the text to show and edit (JSON indented)."""
    found = service.get_entry(database, principal, entry_id)
    raw = found["raw"]
    found["raw_text"] = (
        raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, indent=2)
    )
    return found


async def replay(
    runtime: Runtime,
    principal: Principal,
    entry_id: int,
    raw: Any | None = None,
    *,
    address: str | None,
) -> dict[str, Any]:
    """Replay one entry — unchanged, or ``raw``, its fixed version — exactly as
    ``POST /api/v1/quarantine/{id}/replay`` does: validate again, store through the app's
    writer, mark it replayed (with the audit)."""
    result = await service.replay_entry(runtime, principal, entry_id, raw, address=address)
    return {"accepted": result["accepted"], "duplicates": result["duplicates"]}


def discard(
    database: Database, principal: Principal, entry_id: int, note: str, address: str | None
) -> dict[str, Any]:
    """Discard one entry with a note, as ``POST /api/v1/quarantine/{id}/discard`` does."""
    return dict(service.discard(database, principal, entry_id, note, address))


def connector_status(database: Database, principal: Principal) -> list[dict[str, Any]]:
    """The pull connectors of the agencies the principal may see: whether each runs, when it
    last ran, its last error, how many rows it brought — never its configuration, which may
    name an agency's systems (and whose secret the API never returns either)."""
    shown = (
        "name",
        "kind",
        "agency",
        "enabled",
        "interval_s",
        "last_run_at",
        "last_error",
        "rows_ingested",
    )
    return [
        {key: connector[key] for key in shown}
        for connector in list_connectors(database)
        if principal.may_see_agency(connector["agency"])
    ]

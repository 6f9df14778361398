"""The Data page's live parts: dataset health badges, pull connectors' status and the
quarantine browser.

They come from the ingestion domain's services (``taydo.ingest.health``,
``taydo.ingest.connectors``, ``taydo.ingest.replay``); this module only adapts their answers
to what the page shows. When the ingestion domain lacks them the page says so instead of
guessing.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from taydo.core.access import Principal, client_address
from taydo.core.db import Database
from taydo.core.errors import NotFound
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

HEALTH_LABELS = {"fresh": N_("Kịp thời"), "late": N_("Chậm"), "stale": N_("Quá hạn")}


def _health_of_all(database: Database) -> list[dict[str, Any]] | None:
    try:
        from taydo.ingest.health import health_of_all
    except ImportError:  # not provided by the ingestion domain
        return None
    return list(health_of_all(database))


def health_by_dataset(database: Database) -> dict[str, dict[str, Any]]:
    """Dataset code → {status fresh/late/stale, completeness 0..1 or None, last_at}."""
    return {
        h["dataset"]: {
            "status": h["freshness"]["status"],
            "completeness": h["completeness"]["ratio"],
            "last_at": h["freshness"]["last_ts"],
        }
        for h in _health_of_all(database) or []
    }


def stale_count(database: Database, principal: Principal) -> int | None:
    """How many datasets the principal may see are stale (None without data health)."""
    found = _health_of_all(database)
    if found is None:
        return None
    return sum(
        1
        for h in found
        if h["freshness"]["status"] == "stale" and principal.may_see_agency(h["agency"])
    )


def quarantine_page(
    database: Database, principal: Principal, *, status: str = "pending", limit: int = 100
) -> dict[str, Any] | None:
    """The newest quarantined inputs the principal may see, or None when unavailable."""
    try:
        from taydo.ingest.replay import list_entries
    except ImportError:  # not provided by the ingestion domain
        return None
    return list_entries(database, principal, status=status or None, limit=limit)


def _service(entry_id: int) -> Any:
    try:
        from taydo.ingest import replay as service
    except ImportError:  # no quarantine browser: nothing can be found
        raise NotFound(f"no quarantined entry {entry_id}") from None
    return service


def entry(database: Database, principal: Principal, entry_id: int) -> dict[str, Any]:
    """One entry in full, its raw input as the text to show and edit (JSON indented)."""
    found = _service(entry_id).get_entry(database, principal, entry_id)
    raw = found["raw"]
    found["raw_text"] = (
        raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, indent=2)
    )
    return found


async def replay(
    request: Request, principal: Principal, entry_id: int, raw: Any | None = None
) -> dict[str, Any]:
    """Replay one entry — unchanged, or ``raw``, its fixed version — exactly as
    ``POST /api/v1/quarantine/{id}/replay`` does: validate again, store through the app's
    writer, mark it replayed (with the audit)."""
    address = client_address(request)
    result = await _service(entry_id).replay_entry(
        request.app.state, principal, entry_id, raw, address=address
    )
    return {"accepted": result["accepted"], "duplicates": result["duplicates"]}


def discard(
    database: Database, principal: Principal, entry_id: int, note: str, address: str | None
) -> dict[str, Any]:
    """Discard one entry with a note, as ``POST /api/v1/quarantine/{id}/discard`` does."""
    return dict(_service(entry_id).discard(database, principal, entry_id, note, address))


def connector_status(database: Database, principal: Principal) -> list[dict[str, Any]] | None:
    """The pull connectors of the agencies the principal may see: whether each runs, when it
    last ran, its last error, how many rows it brought — never its configuration, which may
    name an agency's systems (and whose secret the API never returns either)."""
    try:
        from taydo.ingest.connectors.service import list_connectors
    except ImportError:  # not provided by the ingestion domain
        return None
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

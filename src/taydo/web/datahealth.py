"""The Data page's live parts: dataset health badges and the quarantine browser.

Both come from the ingestion domain's services; this module only adapts their answers to what
the page shows. When the ingestion domain lacks one of them the page says so instead of
guessing.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import NotFound

__all__ = ["health_by_dataset", "quarantine_page", "replay"]


def health_by_dataset(database: Database, principal: Principal) -> dict[str, dict[str, Any]]:
    """Dataset code → health (status fresh/late/stale, completeness, last value time)."""
    try:
        from taydo.ingest.health import dataset_health
    except ImportError:  # not provided by the ingestion domain yet
        return {}
    return {h["dataset"]: h for h in dataset_health(database, principal)}


def quarantine_page(
    database: Database, principal: Principal, *, status: str = "pending", limit: int = 100
) -> dict[str, Any] | None:
    """The newest quarantined inputs the principal may see, or None when unavailable."""
    try:
        from taydo.ingest.quarantine import list_entries
    except ImportError:  # not provided by the ingestion domain yet
        return None
    items, total = list_entries(database, principal, status=status or None, limit=limit)
    return {"items": items, "total": total}


def replay(database: Database, principal: Principal, entry_id: int, app: FastAPI) -> Any:
    try:
        from taydo.ingest.quarantine import replay as replay_entry
    except ImportError:  # no quarantine browser: nothing can be found to replay
        raise NotFound(f"no quarantined entry {entry_id}") from None
    return replay_entry(database, principal, entry_id)

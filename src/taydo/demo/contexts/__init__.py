"""The Smart Data Models JSON-LD contexts the demo puts in its context store.

NGSI-LD clients name these contexts by URL (``Link`` header or ``@context``); the server
resolves a URL only from its context store and, by default, never fetches one. So that the
NGSI-LD examples of docs/ngsi-ld.md work on the demo without any network access, copies of
the contexts of the data models the Cần Thơ stations use ship in this folder (CC-BY-4.0, see
SOURCES.md) and the demo adds them to its store at start.
"""

from __future__ import annotations

from pathlib import Path

from taydo.ingest.ngsild.context import ContextStore

__all__ = ["BUNDLED", "URL", "fill"]

FOLDER = Path(__file__).parent
URL = "https://raw.githubusercontent.com/smart-data-models/{repo}/master/context.jsonld"
BUNDLED = (
    "dataModel.Environment",
    "dataModel.WaterQuality",
    "dataModel.Transportation",
    "dataModel.Alert",
)


def fill(folder: Path) -> list[str]:
    """Add every bundled context ``folder``'s store lacks; returns the URLs added."""
    store = ContextStore(folder)
    known = set(store.urls())
    added = []
    for repo in BUNDLED:
        url = URL.format(repo=repo)
        if url not in known:
            store.add(url, (FOLDER / f"{repo}.context.json").read_bytes())
            added.append(url)
    return added

"""NGSI-LD fixtures: a context store filled from the shared fixtures (in a tmp folder)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from taydo.core.db import Database
from taydo.core.settings import Settings
from taydo.ingest.ngsild.context import ContextStore

FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures"
if not FIXTURES.exists():
    FIXTURES = Path("/work/shared/fixtures")
SDM = FIXTURES / "smart-data-models"
SDM_URL = "https://raw.githubusercontent.com/smart-data-models/{repo}/master/context.jsonld"
REPOS = (
    "dataModel.Environment",
    "dataModel.WaterQuality",
    "dataModel.Transportation",
    "dataModel.Alert",
)
LD = {"Content-Type": "application/ld+json"}


def fill_store(folder: Path) -> ContextStore:
    store = ContextStore(folder)
    for repo in REPOS:
        content = (SDM / "contexts" / f"{repo}.context.jsonld").read_bytes()
        store.add(SDM_URL.format(repo=repo), content)
    return store


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    fill_store(tmp_path / "contexts")
    return Settings(  # type: ignore[call-arg]
        database_url=database.url, dev=True, contexts_dir=tmp_path / "contexts", _env_file=None
    )


@pytest.fixture
def agency(database: Database) -> Callable[[str], int]:
    """Creates an agency row (the catalog's table) and returns its id."""
    from taydo.catalog.models import Agency

    def make(code: str) -> int:
        with database.session() as session:
            row = Agency(code=code, name=f"Sở {code}", name_en=code, kind="so")
            session.add(row)
            session.flush()
            return row.id

    return make

"""Catalog fixtures: a test pack (the Cần Thơ pack's agencies, datasets and entity types with
a small station file of our own, so the simulator's stations do not change the counts)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from taydo.catalog.service import load_pack
from taydo.core.db import Database
from taydo.packs.cantho.plugin import DATA_DIR

HERE = Path(__file__).parent


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "testpack"
    folder.mkdir()
    for name in ("agencies.yaml", "datasets.yaml", "entity_types.yaml"):
        shutil.copy(DATA_DIR / name, folder / name)
    shutil.copy(HERE / "data" / "stations.yaml", folder / "stations.yaml")
    return folder


@pytest.fixture
def loaded(database: Database, pack_dir: Path) -> Database:
    """A database holding the areas, the pack's agencies and datasets, and 3 stations."""
    load_pack(database, pack_dir)
    return database

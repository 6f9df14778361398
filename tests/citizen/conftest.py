"""Fixtures of the citizen tests: a database holding the Cần Thơ pack's real service catalogue
and routing table (``citizen.yaml``), the agencies it names, and two wards with outlines
(simple boxes standing in for the official boundaries, which the pack does not ship)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from taydo.app import create_app
from taydo.catalog.schemas import AgencyIn
from taydo.catalog.service import create_agency
from taydo.citizen.service import load_catalogue
from taydo.core.db import Database
from taydo.core.plugins import make_plugin_manager, packs
from taydo.core.settings import Settings
from taydo.geo.service import load_areas, set_area_geometry

NINH_KIEU = "31135"
CAI_RANG = "31186"
# A point inside each box below, and one in neither (a ward without an outline).
IN_NINH_KIEU = (10.0340, 105.7850)
IN_CAI_RANG = (9.9950, 105.7700)
ELSEWHERE = (10.2000, 105.5000)
AGENCIES = ("UBND-NINHKIEU", "UBND-CAIRANG", "SXD", "SNNMT", "VPUBND")


def _box(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> dict[str, Any]:
    ring = [
        [min_lon, min_lat],
        [max_lon, min_lat],
        [max_lon, max_lat],
        [min_lon, max_lat],
        [min_lon, min_lat],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def prepare_citizen(database: Database) -> None:
    load_areas(database)
    set_area_geometry(database, NINH_KIEU, _box(105.77, 10.02, 105.80, 10.05))
    set_area_geometry(database, CAI_RANG, _box(105.75, 9.98, 105.79, 10.01))
    for code in AGENCIES:
        create_agency(database, AgencyIn(code=code, name=f"Cơ quan {code}", kind="so"), None)
    load_catalogue(database, packs(make_plugin_manager())["cantho"])


@pytest.fixture
def citizen_db(database: Database) -> Database:
    prepare_citizen(database)
    return database


@pytest.fixture
def citizen_settings(citizen_db: Database, tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        database_url=citizen_db.url,
        dev=True,
        observations_pack_after_hours=0,
        citizen_photos_dir=tmp_path / "photos",
        citizen_public_posts_per_minute=3,
        _env_file=None,
    )


@pytest.fixture
def citizen_client(citizen_settings: Settings, citizen_db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(citizen_settings, database=citizen_db)) as client:
        yield client


@pytest.fixture
def post_report(citizen_client: TestClient) -> Callable[..., dict[str, Any]]:
    """Post through Open311 with a fresh API key (no rate limit); returns the created report."""
    from taydo.citizen.service import create_key

    def post(service_code: str, lat: float, lon: float, **fields: Any) -> dict[str, Any]:
        database = citizen_client.app.state.runtime.db  # type: ignore[attr-defined]
        _record, key = create_key(database, "tests", actor="tests")
        answer = citizen_client.post(
            "/open311/v2/requests.json",
            data={"api_key": key, "service_code": service_code, "lat": lat, "long": lon, **fields},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()[0]  # type: ignore[no-any-return]

    return post

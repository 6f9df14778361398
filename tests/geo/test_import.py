from __future__ import annotations

import contextlib
import json
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from taydo.catalog.schemas import EntityIn
from taydo.catalog.service import create_entity, get_entity, load_pack
from taydo.cli import app as cli_app
from taydo.core.db import Database
from taydo.core.errors import Invalid
from taydo.geo.geojson import parse_geojson
from taydo.geo.importing import import_geojson
from taydo.geo.models import Area
from taydo.geo.service import area_for_point, load_areas

SAMPLE = Path(__file__).parent / "data" / "cantho_sample.geojson"
Headers = Callable[..., dict[str, str]]
NINH_KIEU_POINT = (105.78, 10.035)
CAI_RANG_POINT = (105.77, 10.00)


def _features(*features: dict[str, Any]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def _box(props: dict[str, Any], x: float, y: float, size: float = 0.01) -> dict[str, Any]:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def test_import_by_code_sets_geometries_and_reports_the_rest(database: Database) -> None:
    load_areas(database)
    report = import_geojson(database, SAMPLE, match="code")
    assert sorted(code for _i, code, _n in report.matched) == ["31135", "31186"]
    assert [(p.index, p.reason) for p in report.unmatched] == [(2, "no area with code '99999'")]
    assert len(report.invalid) == 1
    assert report.invalid[0].index == 3
    assert "Point" in report.invalid[0].reason
    with database.session() as session:
        ninh_kieu = session.get(Area, "31135")
        assert ninh_kieu is not None
        assert ninh_kieu.geometry["type"] == "Polygon"
        assert (ninh_kieu.min_lon, ninh_kieu.min_lat, ninh_kieu.max_lon, ninh_kieu.max_lat) == (
            105.76,
            10.02,
            105.80,
            10.05,
        )
        cai_rang = session.get(Area, "31186")
        assert cai_rang is not None
        assert cai_rang.geometry["type"] == "MultiPolygon"
        assert cai_rang.max_lon == 105.91  # the bbox covers both parts


def test_point_in_area(database: Database) -> None:
    load_areas(database)
    assert area_for_point(database, *NINH_KIEU_POINT) is None  # no boundaries yet
    import_geojson(database, SAMPLE, match="code")
    assert area_for_point(database, *NINH_KIEU_POINT) == "31135"
    assert area_for_point(database, *CAI_RANG_POINT) == "31186"
    assert area_for_point(database, 105.905, 9.905) == "31186"  # second part of the multipolygon
    assert area_for_point(database, 105.76, 10.03) == "31135"  # on the boundary counts as inside
    assert area_for_point(database, 105.85, 10.10) is None  # inside no box
    assert area_for_point(database, 105.85, 9.95) is None  # inside Cái Răng's bbox only


def test_import_by_name_handles_prefixes_case_and_unicode_forms(database: Database) -> None:
    load_areas(database)
    raw = _features(
        _box({"ten": "Ninh Kiều"}, 105.77, 10.03),  # without the kind word
        _box({"ten": "CÁI RĂNG"}, 105.77, 9.99),  # upper case
        _box({"ten": unicodedata.normalize("NFD", "Phường Cái Khế")}, 105.78, 10.05),  # NFD
        _box({"ten": "Xa An Ninh"}, 105.9, 9.7),  # no diacritics, unique in the province
        _box({"ten": "Phường Atlantis"}, 106.0, 10.0),
        _box({"other": "x"}, 106.0, 10.0),
    )
    report = import_geojson(database, raw, match="name", prop="ten", province="92")
    assert {code for _i, code, _n in report.matched} == {"31135", "31186", "31120", "31594"}
    reasons = {p.index: p.reason for p in report.unmatched}
    assert reasons == {
        4: "no area is named 'Phường Atlantis'",
        5: "the feature has no name (property 'ten'); use --property",
    }


def test_names_that_exist_in_several_provinces_are_ambiguous_without_province(
    database: Database,
) -> None:
    load_areas(database)
    raw = _features(_box({"name": "Phường Tân An"}, 105.7, 10.0))
    report = import_geojson(database, raw, match="name")
    assert report.matched == []
    assert "ambiguous" in report.unmatched[0].reason
    scoped = import_geojson(database, raw, match="name", province="92")
    assert [code for _i, code, _n in scoped.matched] == ["31147"]


def test_the_same_area_twice_is_reported(database: Database) -> None:
    load_areas(database)
    raw = _features(_box({"code": "31135"}, 105.7, 10.0), _box({"code": 31135}, 105.8, 10.0))
    report = import_geojson(database, raw, match="code")
    assert len(report.matched) == 1
    assert "already matched by feature 0" in report.unmatched[0].reason


def test_entities_are_placed_once_boundaries_exist(database: Database, pack_dir: Path) -> None:
    load_pack(database, pack_dir)
    air = "urn:ngsi-ld:AirQualityObserved:AQ-CAIRANG"
    assert get_entity(database, air)["area_code"] is None
    moved = EntityIn(
        entity_id="urn:ngsi-ld:WaterObserved:MOVED",
        name="x",
        agency="SNNMT",
        lon=CAI_RANG_POINT[0],
        lat=CAI_RANG_POINT[1],
        area_code="31135",  # explicit: kept even though the point lies in Cái Răng
    )
    create_entity(database, moved, None)

    import_geojson(database, SAMPLE, match="code")
    from taydo.catalog.service import assign_areas

    assert assign_areas(database) == [air]
    assert get_entity(database, air)["area_code"] == "31186"
    assert get_entity(database, "urn:ngsi-ld:WaterObserved:MOVED")["area_code"] == "31135"

    # New entities with a location now get their ward at once.
    located = EntityIn(
        entity_id="urn:ngsi-ld:WaterObserved:NEW",
        name="y",
        agency="SNNMT",
        lon=NINH_KIEU_POINT[0],
        lat=NINH_KIEU_POINT[1],
    )
    assert create_entity(database, located, None)["area_code"] == "31135"


def test_moving_an_entity_updates_its_area(
    database: Database, pack_dir: Path, client: TestClient, headers_for: Headers
) -> None:
    load_pack(database, pack_dir)
    import_geojson(database, SAMPLE, match="code")
    admin = headers_for("admin")
    url = "/api/v1/entities/urn:ngsi-ld:AirQualityObserved:AQ-CAIRANG"
    moved = client.patch(
        url, json={"lon": NINH_KIEU_POINT[0], "lat": NINH_KIEU_POINT[1]}, headers=admin
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["area_code"] == "31135"
    # Clearing an explicit area hands it back to the location.
    water = "/api/v1/entities/urn:ngsi-ld:WaterObserved:CT-NINHKIEU"
    pinned = client.patch(water, json={"area_code": "31186"}, headers=admin).json()
    assert pinned["area_code"] == "31186"
    freed = client.patch(water, json={"area_code": None}, headers=admin).json()
    assert freed["area_code"] == "31135"


def test_geometry_api_sets_one_boundary(
    database: Database, pack_dir: Path, client: TestClient, headers_for: Headers
) -> None:
    load_pack(database, pack_dir)
    box = _box({}, 105.76, 9.99, 0.03)["geometry"]
    url = "/api/v1/areas/31186/geometry"
    officer = headers_for("agency_officer", ["SNNMT"])
    assert client.put(url, json=box, headers=officer).status_code == 403
    answer = client.put(url, json=box, headers=headers_for("admin"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["has_geometry"] is True
    assert answer.json()["reassigned_entities"] == 1  # the air station at Cái Răng
    shown = client.get("/api/v1/areas/31186?geometry=true", headers=officer).json()
    assert shown["geometry"]["type"] == "Polygon"
    bad = client.put(
        url, json={"type": "Point", "coordinates": [1, 2]}, headers=headers_for("admin")
    )
    assert bad.status_code == 422
    assert "Polygon" in bad.json()["error"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "not valid JSON"),
        (b"\xff\xfe garbage", "not valid JSON"),
        (b"[1, 2]", "must be an object"),
        (b'{"type": "Topology"}', "expected a FeatureCollection or Feature"),
        (b'{"type": "FeatureCollection"}', "has no 'features' list"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    ],
)
def test_files_that_are_not_geojson_get_a_clear_error(raw: bytes, reason: str) -> None:
    with pytest.raises(Invalid) as raised:
        parse_geojson(raw)
    assert reason in raised.value.message


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        (None, "no geometry"),
        ({"type": "Polygon"}, "empty or not a list"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, "at least 4"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, "a"], [1, 1], [0, 0]]]}, "not a number"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1e309], [0, 0]]]}, "finite"),
        (
            {
                "type": "Polygon",
                "coordinates": [
                    [[500000, 1200000], [500100, 1200000], [500100, 1200100], [500000, 1200000]]
                ],
            },
            "EPSG:4326",
        ),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [2, 2], [0, 0]]]}, "no area"),
        ({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "not Polygon"),
    ],
)
def test_bad_features_are_reported_not_fatal(geometry: Any, reason: str) -> None:
    raw = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "properties": {}, "geometry": geometry},
                _box({"code": "31135"}, 105.7, 10.0),
            ],
        }
    )
    good, problems = parse_geojson(raw)
    assert [f.index for f in good] == [1]
    assert len(problems) == 1
    assert reason in problems[0].reason


def test_self_intersecting_ring_is_repaired() -> None:
    bowtie = [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]
    raw = _features(
        {
            "type": "Feature",
            "properties": {},
            "geometry": {"type": "Polygon", "coordinates": [bowtie]},
        }
    )
    good, problems = parse_geojson(raw)
    assert problems == []
    assert good[0].geometry["type"] == "MultiPolygon"


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(["type", "features", "geometry", "coordinates", "properties", "x"]),
            children,
            max_size=5,
        )
    ),
    max_leaves=40,
)
geometry_like = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["Polygon", "MultiPolygon", "Point", "Nope"]),
        "coordinates": json_values,
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {
                "type": st.just("FeatureCollection"),
                "features": st.lists(
                    st.fixed_dictionaries(
                        {
                            "type": st.just("Feature"),
                            "properties": json_values,
                            "geometry": geometry_like,
                        }
                    ),
                    max_size=4,
                ),
            }
        ),
    )
)
def test_fuzzed_geojson_never_crashes(document: Any) -> None:
    try:
        raw = json.dumps(document)
    except ValueError:
        return
    try:
        good, problems = parse_geojson(raw)
    except Invalid:
        return
    for feature in good:
        assert feature.geometry["type"] in ("Polygon", "MultiPolygon")
        assert feature.bbox[0] <= feature.bbox[2] and feature.bbox[1] <= feature.bbox[3]
    assert all(p.reason for p in problems)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzzed_bytes_never_crash(raw: bytes) -> None:
    with contextlib.suppress(Invalid):
        parse_geojson(raw)


def test_cli_import_reports_unmatched_and_sets_geometries(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAYDO_DATABASE_URL", database.url)
    runner = CliRunner()
    result = runner.invoke(cli_app, ["geo", "import", str(SAMPLE), "--match", "code"])
    assert result.exit_code == 1, result.output  # some features were not imported
    assert "2 ranh giới đã nhập / boundaries imported" in result.output
    assert "no area with code '99999'" in result.output
    assert "Point" in result.output
    with database.session() as session:
        have = set(session.scalars(select(Area.code).where(Area.geometry.is_not(None))))
    assert have == {"31135", "31186"}

    missing = runner.invoke(cli_app, ["geo", "import", "/nonexistent.geojson", "--match", "code"])
    assert missing.exit_code == 1
    assert "cannot read" in missing.output
    wrong = runner.invoke(cli_app, ["geo", "import", str(SAMPLE), "--match", "colour"])
    assert wrong.exit_code == 2


property_values = st.one_of(
    st.none(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(["31135", "Ninh Kiều", "PHƯỜNG CÁI RĂNG", "Tân An", "92", ""]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    props=st.lists(
        st.dictionaries(st.sampled_from(["code", "name", "ma_xa", "ten"]), property_values),
        min_size=1,
        max_size=4,
    ),
    match=st.sampled_from(["code", "name"]),
)
def test_fuzzed_properties_are_matched_or_reported(
    database: Database, props: list[dict[str, Any]], match: str
) -> None:
    if not hasattr(database, "_areas_loaded"):
        load_areas(database)
        database._areas_loaded = True  # type: ignore[attr-defined]
    raw = _features(*(_box(p, 105.7 + i * 0.01, 10.0) for i, p in enumerate(props)))
    report = import_geojson(database, raw, match=match, province="92")
    # Every feature is accounted for: imported, or listed with a reason.
    assert len(report.matched) + len(report.unmatched) + len(report.invalid) == len(props)
    assert all(p.reason for p in report.unmatched)


def test_locate_api_answers_the_ward_of_a_point(
    database: Database, client: TestClient, headers_for: Headers
) -> None:
    load_areas(database)
    viewer = headers_for("viewer")
    url = "/api/v1/areas/locate"
    params = {"lon": NINH_KIEU_POINT[0], "lat": NINH_KIEU_POINT[1]}
    before = client.get(url, params=params, headers=viewer)
    assert before.status_code == 404
    assert "taydo geo import" in before.json()["error"]
    import_geojson(database, SAMPLE, match="code")
    found = client.get(url, params=params, headers=viewer).json()
    assert (found["code"], found["name"], found["parent_name"]) == (
        "31135",
        "Phường Ninh Kiều",
        "Thành phố Cần Thơ",
    )
    assert client.get(url, params={"lon": 500, "lat": 10}, headers=viewer).status_code == 422
    assert client.get(url, params={"lon": "nan", "lat": 10}, headers=viewer).status_code == 422

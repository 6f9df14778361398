"""Reading area boundaries from GeoJSON, with a clear reason for everything refused.

Only what an administrative boundary can be is accepted: Polygon or MultiPolygon features
with WGS 84 longitude/latitude coordinates. A broken ring is repaired with shapely's
``make_valid`` when the result is still a polygon; anything else is reported per feature.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.validation import make_valid

from taydo.core.errors import Invalid

__all__ = ["BoundaryFeature", "FeatureProblem", "parse_geojson", "parse_polygon"]

MAX_BYTES = 200 * 1024 * 1024  # a whole country's communes at fine resolution fits well below


@dataclass(frozen=True)
class BoundaryFeature:
    index: int
    properties: dict[str, Any]
    geometry: dict[str, Any]  # GeoJSON mapping (Polygon or MultiPolygon), repaired if needed
    bbox: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat


@dataclass(frozen=True)
class FeatureProblem:
    index: int
    reason: str
    properties: dict[str, Any] = field(default_factory=dict)


def _check_coordinates(value: Any, depth: int) -> None:
    """Coordinates nested ``depth`` levels deep, each a finite [lon, lat(, z)] in range."""
    if depth == 0:
        if not isinstance(value, list) or len(value) < 2 or len(value) > 3:
            raise ValueError("a position must be [longitude, latitude]")
        for number in value:
            if isinstance(number, bool) or not isinstance(number, int | float):
                raise ValueError(f"coordinate {number!r} is not a number")
            if not math.isfinite(number):
                raise ValueError("coordinates must be finite numbers")
        lon, lat = value[0], value[1]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(
                f"position [{lon}, {lat}] is outside longitude/latitude range "
                "(the file must be in WGS 84, EPSG:4326)"
            )
        return
    if not isinstance(value, list) or not value:
        raise ValueError("coordinates are empty or not a list")
    for item in value:
        _check_coordinates(item, depth - 1)


def parse_polygon(geometry: Any) -> tuple[dict[str, Any], tuple[float, float, float, float]]:
    """Validate one GeoJSON geometry; returns it (repaired if needed) and its bounding box.

    Raises ``ValueError`` with a reason for anything that is not a usable (Multi)Polygon.
    """
    if not isinstance(geometry, dict):
        raise ValueError("the feature has no geometry")
    kind = geometry.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        raise ValueError(f"geometry type {kind!r} is not Polygon or MultiPolygon")
    coordinates = geometry.get("coordinates")
    _check_coordinates(coordinates, 2 if kind == "Polygon" else 3)
    groups: list[Any] = [coordinates] if kind == "Polygon" else list(coordinates or [])
    for ring_group in groups:
        for ring in ring_group:
            if len(ring) < 4:
                raise ValueError("a polygon ring needs at least 4 positions")
    try:
        shaped = shape(geometry)
    except Exception as exc:  # shapely raises several types for malformed input
        raise ValueError(f"unreadable geometry: {exc}") from exc
    if not shaped.is_valid:
        shaped = make_valid(shaped)
        if shaped.geom_type == "GeometryCollection":
            parts = [g for g in shaped.geoms if isinstance(g, Polygon | MultiPolygon)]
            shaped = (
                parts[0]
                if len(parts) == 1
                else MultiPolygon(
                    [p for g in parts for p in (g.geoms if isinstance(g, MultiPolygon) else [g])]
                )
            )
    if not isinstance(shaped, Polygon | MultiPolygon) or shaped.is_empty or shaped.area == 0:
        raise ValueError("the polygon is empty or has no area")
    min_lon, min_lat, max_lon, max_lat = shaped.bounds
    return dict(mapping(shaped)), (min_lon, min_lat, max_lon, max_lat)


def _json_safe(properties: Any) -> dict[str, Any]:
    return properties if isinstance(properties, dict) else {}


def parse_geojson(raw: bytes | str) -> tuple[list[BoundaryFeature], list[FeatureProblem]]:
    """Parse a FeatureCollection (or a single Feature).

    A file that is not GeoJSON at all raises ``Invalid``; a bad feature inside a good file is
    returned as a ``FeatureProblem`` so the rest still loads.
    """
    if len(raw) > MAX_BYTES:
        raise Invalid(f"tệp quá lớn / file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise Invalid(f"tệp không phải JSON hợp lệ / not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise Invalid("GeoJSON phải là một đối tượng / GeoJSON must be an object")
    kind = document.get("type")
    if kind == "Feature":
        features: Any = [document]
    elif kind == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list):
            raise Invalid("FeatureCollection thiếu 'features' / has no 'features' list")
    else:
        raise Invalid(
            f"cần FeatureCollection hoặc Feature / expected a FeatureCollection or Feature, "
            f"got type {kind!r}"
        )
    good: list[BoundaryFeature] = []
    problems: list[FeatureProblem] = []
    for index, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append(FeatureProblem(index, "not a GeoJSON Feature"))
            continue
        properties = _json_safe(feature.get("properties"))
        try:
            geometry, bbox = parse_polygon(feature.get("geometry"))
        except (ValueError, RecursionError) as exc:
            problems.append(FeatureProblem(index, str(exc), properties))
            continue
        good.append(BoundaryFeature(index, properties, geometry, bbox))
    return good, problems

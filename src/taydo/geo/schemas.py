"""API shapes of the geo domain."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from taydo.core.inputs import INPUT_CONFIG

__all__ = ["AreaDetail", "AreaOut", "GeometryIn", "GeometryOut"]


class AreaOut(BaseModel):
    code: str
    name: str
    kind: str
    level: int
    parent_code: str | None
    has_geometry: bool
    bbox: list[float] | None


class AreaDetail(AreaOut):
    parent_name: str | None
    children: list[AreaOut]
    geometry: dict[str, Any] | None = None


class GeometryIn(BaseModel):
    """A GeoJSON Polygon or MultiPolygon in WGS 84 (checked by the service)."""

    model_config = ConfigDict(**INPUT_CONFIG, extra="allow")

    type: str
    coordinates: Any


class GeometryOut(AreaOut):
    reassigned_entities: int

"""The stations of the pack as the simulator sees them (read from ``data/stations.yaml``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["STATIONS_FILE", "Station", "load_stations"]

STATIONS_FILE = Path(__file__).resolve().parent.parent / "data" / "stations.yaml"


@dataclass(frozen=True)
class Station:
    id: str
    type: str
    name: str = ""
    agency: str = ""
    dataset: str = ""
    lon: float = 0.0
    lat: float = 0.0
    area: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    metrics: tuple[str, ...] | None = None  # None: every metric the type has

    @property
    def entity_id(self) -> str:
        return f"urn:ngsi-ld:{self.type}:{self.id}"


def load_stations(path: Path = STATIONS_FILE) -> list[Station]:
    rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    stations = []
    for row in rows:
        metrics = row.get("metrics")
        stations.append(
            Station(
                id=str(row["id"]),
                type=str(row["type"]),
                name=str(row.get("name", "")),
                agency=str(row.get("agency", "")),
                dataset=str(row.get("dataset", "")),
                lon=float(row.get("lon", 0.0)),
                lat=float(row.get("lat", 0.0)),
                area=str(row.get("area", "")),
                attributes=dict(row.get("attributes") or {}),
                tags=tuple(row.get("tags") or ()),
                metrics=tuple(metrics) if metrics else None,
            )
        )
    return stations

"""Loading a reference pack's YAML files into the catalog (idempotent: re-runs update).

Files (all optional except where noted), in the pack's ``data_dir``:
``agencies.yaml``, ``datasets.yaml``, ``entity_types.yaml``, ``stations.yaml``.
Their format is described in ``docs/catalog.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from taydo.auth import journal
from taydo.catalog.models import Agency, Dataset, Entity, Metric
from taydo.catalog.schemas import METRIC_NAME, AgencyIn, DatasetIn, EntityIn, parse_interval
from taydo.catalog.service.common import agency_by_code, checked_area_code, dataset_by_code
from taydo.catalog.service.entities import assign_areas, place_entity
from taydo.core import clock
from taydo.core.db import Database
from taydo.core.errors import Invalid
from taydo.core.plugins import Pack
from taydo.geo.service import load_areas

__all__ = ["EntityType", "MetricSpec", "load_entity_types", "load_pack"]


class MetricSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    unit: str = Field(max_length=32)
    label: str
    label_en: str = ""
    min_valid: float | None = None
    max_valid: float | None = None


class EntityType(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str
    label_en: str = ""
    # The Smart Data Models repository that defines the type (``dataModel.Environment``), when
    # one does: the type's and its metrics' IRIs live under smartdatamodels.org/<data_model>/.
    data_model: str | None = Field(default=None, pattern=r"^dataModel\.[A-Za-z]+$")
    metrics: dict[str, MetricSpec]


class _Station(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    id: str
    type: str
    name: str
    agency: str
    dataset: str | None = None
    lon: float | None = None
    lat: float | None = None
    area: str | int | None = None
    metrics: list[str] | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)


def _read(path: Path) -> Any:
    if not path.exists():
        return None
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise Invalid(f"tệp YAML lỗi / {path.name} is not valid YAML: {exc}") from exc


def _entries(path: Path) -> list[Any]:
    data = _read(path)
    if data is None:
        return []
    if not isinstance(data, list):
        raise Invalid(f"{path.name} must be a list of entries")
    return data


def _valid(model: type[BaseModel], item: Any, path: Path, index: int) -> Any:
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise Invalid(f"{path.name} entry {index + 1}: {problems}") from exc


def load_entity_types(data_dir: Path) -> dict[str, EntityType]:
    """The entity types a pack defines (metrics with units, labels and valid ranges)."""
    path = data_dir / "entity_types.yaml"
    data = _read(path) or {}
    if not isinstance(data, dict):
        raise Invalid(f"{path.name} must map type names to their definitions")
    types: dict[str, EntityType] = {}
    for index, (name, spec) in enumerate(data.items()):
        found = _valid(EntityType, spec, path, index)
        for metric in found.metrics:
            MetricNameCheck.model_validate({"name": metric})
        types[str(name)] = found
    return types


class MetricNameCheck(BaseModel):
    name: str = Field(pattern=METRIC_NAME, max_length=80)


def load_pack(database: Database, pack: Pack | Path) -> dict[str, int]:
    """Load (or refresh) a pack: areas, agencies, datasets, entity types, stations.

    Idempotent: running it again updates rows in place and never duplicates them. Metrics a
    station no longer lists are kept (they may hold observations).
    """
    data_dir = pack.data_dir if isinstance(pack, Pack) else Path(pack)
    name = pack.name if isinstance(pack, Pack) else data_dir.name
    if not data_dir.is_dir():
        raise Invalid(f"thư mục gói không tồn tại / pack folder {data_dir} does not exist")
    areas = load_areas(database)
    types = load_entity_types(data_dir)
    counts = {"areas": areas["provinces"] + areas["wards"], "entity_types": len(types)}
    with database.session() as session:
        counts.update(_agencies(session, data_dir / "agencies.yaml"))
        counts.update(_datasets(session, data_dir / "datasets.yaml"))
        counts.update(_stations(session, data_dir / "stations.yaml", types))
        journal.record(
            session,
            actor="system",
            action="pack.load",
            object_type="pack",
            object_id=name,
            summary=dict(counts),
        )
    assign_areas(database)
    return counts


def _agencies(session: Session, path: Path) -> dict[str, int]:
    new = 0
    entries = _entries(path)
    for index, item in enumerate(entries):
        if isinstance(item, dict) and "area" in item:
            item = dict(item)
            item["area_code"] = item.pop("area")
        data: AgencyIn = _valid(AgencyIn, item, path, index)
        area = checked_area_code(session, str(data.area_code)) if data.area_code else None
        agency = session.scalar(select(Agency).where(Agency.code == data.code))
        if agency is None:
            agency = Agency(code=data.code)
            session.add(agency)
            new += 1
        agency.name, agency.name_en, agency.kind = data.name, data.name_en or "", data.kind
        agency.area_code = area
    session.flush()
    return {"agencies": len(entries), "agencies_new": new}


def _datasets(session: Session, path: Path) -> dict[str, int]:
    new = 0
    entries = _entries(path)
    for index, item in enumerate(entries):
        data: DatasetIn = _valid(DatasetIn, item, path, index)
        try:
            owner = agency_by_code(session, data.agency)
        except Invalid as exc:
            raise Invalid(f"{path.name} entry {index + 1}: {exc.message}") from exc
        dataset = session.scalar(select(Dataset).where(Dataset.code == data.code))
        if dataset is None:
            dataset = Dataset(code=data.code)
            session.add(dataset)
            new += 1
        dataset.name, dataset.agency_id = data.name, owner.id
        dataset.pillar, dataset.sector = data.pillar, data.sector
        dataset.description = data.description or ""
        dataset.update_interval_s = parse_interval(data.update_interval)
        dataset.licence = data.licence or ""
    session.flush()
    return {"datasets": len(entries), "datasets_new": new}


def _stations(session: Session, path: Path, types: dict[str, EntityType]) -> dict[str, int]:
    new = metrics_total = 0
    entries = _entries(path)
    now = clock.now()
    for index, item in enumerate(entries):
        station: _Station = _valid(_Station, item, path, index)
        where = f"{path.name} entry {index + 1} ({station.id})"
        spec = types.get(station.type)
        if spec is None:
            raise Invalid(f"{where}: unknown entity type {station.type!r}")
        wanted = station.metrics if station.metrics is not None else list(spec.metrics)
        unknown = [m for m in wanted if m not in spec.metrics]
        if unknown:
            raise Invalid(f"{where}: type {station.type} has no metric {', '.join(unknown)}")
        try:
            checked = EntityIn(
                entity_id=f"urn:ngsi-ld:{station.type}:{station.id}",
                name=station.name,
                agency=station.agency,
                dataset=station.dataset,
                lon=station.lon,
                lat=station.lat,
                area_code=None if station.area is None else str(station.area),
                attributes=station.attributes,
                tags=station.tags,
            )
            agency = agency_by_code(session, station.agency)
            dataset = dataset_by_code(session, station.dataset) if station.dataset else None
            area = checked_area_code(session, checked.area_code) if checked.area_code else None
        except (ValidationError, ValueError) as exc:
            raise Invalid(f"{where}: {exc}") from exc
        except Invalid as exc:
            raise Invalid(f"{where}: {exc.message}") from exc
        entity = session.scalar(select(Entity).where(Entity.entity_id == checked.entity_id))
        if entity is None:
            entity = Entity(entity_id=checked.entity_id, created_at=now)
            session.add(entity)
            new += 1
        entity.type, entity.name = station.type, station.name
        entity.agency_id = agency.id
        entity.dataset_id = dataset.id if dataset else None
        entity.lon, entity.lat = station.lon, station.lat
        entity.area_code, entity.area_explicit = area, area is not None
        entity.attributes, entity.tags = station.attributes, list(station.tags)
        entity.updated_at = now
        place_entity(session, entity)
        session.flush()
        existing = {
            m.name: m for m in session.scalars(select(Metric).where(Metric.entity_pk == entity.id))
        }
        for metric_name in wanted:
            metric_spec = spec.metrics[metric_name]
            metric = existing.get(metric_name)
            if metric is None:
                metric = Metric(entity_pk=entity.id, name=metric_name)
                session.add(metric)
            metric.unit = metric_spec.unit
            metric.min_valid, metric.max_valid = metric_spec.min_valid, metric_spec.max_valid
            metrics_total += 1
    session.flush()
    return {"entities": len(entries), "entities_new": new, "metrics": metrics_total}

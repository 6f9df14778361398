"""API shapes of the catalog: what clients send and receive."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from taydo.core.inputs import INPUT_CONFIG
from taydo.core.paging import Page

__all__ = [
    "ENTITY_ID",
    "AgencyIn",
    "AgencyOut",
    "AgencyPatch",
    "DatasetIn",
    "DatasetOut",
    "DatasetPatch",
    "EntityIn",
    "EntityOut",
    "EntityPatch",
    "MetricIn",
    "MetricOut",
    "Page",
    "parse_entity_id",
    "parse_interval",
]

# NGSI-LD style ids: urn:ngsi-ld:<Type>:<local-id>. The local id may hold ':' (NGSI-LD ids
# often do) but no '/', '?', '#' or spaces, so it can travel in a URL path unescaped.
ENTITY_ID = re.compile(
    r"^urn:ngsi-ld:([A-Za-z][A-Za-z0-9_]{0,79}):([A-Za-z0-9][A-Za-z0-9_.:~@-]*)$"
)
CODE = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
METRIC_NAME = r"^[A-Za-z][A-Za-z0-9_-]*$"  # SDM names such as pH, NO3, Cl-
_INTERVAL = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

Pillar = Literal["government", "economy", "society"]
Tag = Annotated[str, Field(min_length=1, max_length=64)]


def parse_entity_id(entity_id: str) -> tuple[str, str]:
    """(type, local id) of a valid id; ``ValueError`` with the expected shape otherwise."""
    found = ENTITY_ID.match(entity_id) if len(entity_id) <= 255 else None
    if found is None:
        raise ValueError(
            "entity id must look like urn:ngsi-ld:<Type>:<local-id> (Type: letters and digits; "
            "local id: letters, digits and _ . : ~ @ -)"
        )
    return found.group(1), found.group(2)


IntervalSeconds = Annotated[int, Field(ge=1, le=366 * 86400)]


def parse_interval(value: str | int) -> int:
    """'60s', '5m', '1h', '1d' (or a number of seconds) → seconds."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        found = _INTERVAL.match(str(value))
        if found is None:
            raise ValueError(f"interval {value!r} must look like 60s, 5m, 1h or 1d")
        seconds = int(found.group(1)) * _SECONDS[found.group(2)]
    if seconds <= 0 or seconds > 366 * 86400:
        raise ValueError("interval must be between 1 second and 1 year")
    return seconds


def format_interval(seconds: int) -> str:
    for unit in ("d", "h", "m"):
        if seconds % _SECONDS[unit] == 0:
            return f"{seconds // _SECONDS[unit]}{unit}"
    return f"{seconds}s"


class _Strict(BaseModel):
    # NaN and Infinity are refused everywhere: they would poison ranges and comparisons.
    model_config = ConfigDict(**INPUT_CONFIG, extra="forbid", str_strip_whitespace=True)


# -- agencies ---------------------------------------------------------------------------


class AgencyPatch(_Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    name_en: str | None = Field(None, max_length=200)
    kind: str | None = Field(None, pattern=r"^[a-z_]{1,32}$")
    area_code: str | None = Field(None, max_length=16)


class AgencyIn(AgencyPatch):
    code: str = Field(min_length=1, max_length=40, pattern=CODE)
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(pattern=r"^[a-z_]{1,32}$")


class AgencyOut(BaseModel):
    code: str
    name: str
    name_en: str
    kind: str
    area_code: str | None


# -- datasets ---------------------------------------------------------------------------


class DatasetPatch(_Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    agency: str | None = Field(None, max_length=40, description="owner agency code")
    pillar: Pillar | None = None
    sector: str | None = Field(None, min_length=1, max_length=40)
    description: str | None = None
    update_interval: str | IntervalSeconds | None = Field(
        None, description="expected interval between values: 60s, 5m, 1h, 1d or seconds"
    )
    licence: str | None = Field(None, max_length=80)

    @field_validator("update_interval")
    @classmethod
    def _interval(cls, value: str | int | None) -> str | int | None:
        if value is not None:
            parse_interval(value)
        return value


class DatasetIn(DatasetPatch):
    code: str = Field(min_length=1, max_length=80, pattern=CODE)
    name: str = Field(min_length=1, max_length=200)
    agency: str = Field(min_length=1, max_length=40)
    pillar: Pillar
    sector: str = Field(min_length=1, max_length=40)
    update_interval: str | IntervalSeconds


class DatasetOut(BaseModel):
    code: str
    name: str
    agency: str
    pillar: str
    sector: str
    description: str
    update_interval_s: int
    update_interval: str
    licence: str


# -- entities and metrics ---------------------------------------------------------------


class MetricIn(_Strict):
    name: str = Field(min_length=1, max_length=80, pattern=METRIC_NAME)
    unit: str = Field("", max_length=32, description="UN/CEFACT code, e.g. MTR, NX, GQ")
    min_valid: float | None = None
    max_valid: float | None = None

    @model_validator(mode="after")
    def _range(self) -> MetricIn:
        if (
            self.min_valid is not None
            and self.max_valid is not None
            and self.min_valid > self.max_valid
        ):
            raise ValueError("min_valid must not be greater than max_valid")
        return self


class MetricOut(BaseModel):
    series_id: int
    name: str
    unit: str
    unit_symbol: str
    min_valid: float | None
    max_valid: float | None


class EntityPatch(_Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    agency: str | None = Field(None, max_length=40, description="owner agency code")
    dataset: str | None = Field(None, max_length=80, description="dataset code")
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    area_code: str | None = Field(
        None, max_length=16, description="official ward/commune code; found from lon/lat if absent"
    )
    attributes: dict[str, Any] | None = None
    tags: list[Tag] | None = Field(None, max_length=50)


class EntityIn(EntityPatch):
    entity_id: str = Field(
        max_length=255,
        description="urn:ngsi-ld:<Type>:<local-id>",
        examples=["urn:ngsi-ld:WaterObserved:CT-NINHKIEU"],
    )
    type: str | None = Field(None, description="defaults to the Type in entity_id")
    name: str = Field(min_length=1, max_length=200)
    metrics: list[MetricIn] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _ids(self) -> EntityIn:
        kind, _local = parse_entity_id(self.entity_id)
        if self.type is not None and self.type != kind:
            raise ValueError(f"type {self.type!r} differs from the Type in the id ({kind!r})")
        self.type = kind
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat, or neither")
        names = [m.name for m in self.metrics]
        if len(names) != len(set(names)):
            raise ValueError("a metric name appears twice")
        return self


class EntityOut(BaseModel):
    entity_id: str
    type: str
    name: str
    agency: str | None
    dataset: str | None
    lon: float | None
    lat: float | None
    area_code: str | None
    area_name: str | None
    attributes: dict[str, Any]
    tags: list[str]
    metrics: list[MetricOut]
    created_at: datetime
    updated_at: datetime

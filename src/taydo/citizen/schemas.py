"""Shapes of the citizen domain: the pack's service catalogue and routing table (validated when
loaded), and the bodies of the operators' API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from taydo.core.bounds import BodyId
from taydo.core.inputs import INPUT_CONFIG

__all__ = [
    "CODE",
    "STATUSES",
    "AttributeDef",
    "AttributeValue",
    "CatalogueFile",
    "KeyIn",
    "MergeIn",
    "RatingIn",
    "RouteDef",
    "RouteIn",
    "ServiceDef",
    "StatusIn",
]

CODE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
# Internal statuses; Open311 shows "closed" for closed and "open" for the rest.
STATUSES = ("open", "acknowledged", "in_progress", "closed")
Code = Annotated[str, Field(pattern=CODE)]


class AttributeValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Code
    name: str = Field(min_length=1, max_length=200)
    name_en: str = ""


class AttributeDef(BaseModel):
    """An Open311 service attribute (the spec's fields, plus an English description)."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    datatype: Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
    description: str = Field(min_length=1, max_length=400)
    description_en: str = ""
    required: bool = False
    variable: bool = True
    datatype_description: str = ""
    order: int = Field(1, ge=1, le=1000)
    values: list[AttributeValue] = []

    @model_validator(mode="after")
    def _lists_have_values(self) -> AttributeDef:
        if self.datatype.endswith("valuelist") and not self.values:
            raise ValueError(f"attribute {self.code}: a {self.datatype} needs values")
        return self


class ServiceDef(BaseModel):
    """A category a citizen reports under, with its SLA (hours to fix)."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    name: str = Field(min_length=1, max_length=200)
    name_en: str = ""
    description: str = ""
    group: str = ""
    keywords: str = ""
    sla_hours: float = Field(gt=0, le=24 * 365)
    attributes: list[AttributeDef] = []


class RouteDef(BaseModel):
    """A routing row: ``service`` and/or ``areas`` (absent: any) → ``agency``."""

    model_config = ConfigDict(extra="forbid")

    service: Code | None = None
    areas: list[str] = []
    agency: str = Field(min_length=1, max_length=40)


class CatalogueFile(BaseModel):
    """``citizen.yaml`` of a pack."""

    model_config = ConfigDict(extra="forbid")

    services: list[ServiceDef]
    routing: list[RouteDef] = []


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid", **INPUT_CONFIG)

    status: Literal["acknowledged", "in_progress", "closed"]
    note: str = Field("", max_length=4000)


class RouteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", **INPUT_CONFIG)

    agency_code: str = Field(min_length=1, max_length=40)


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", **INPUT_CONFIG)

    into: BodyId


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", **INPUT_CONFIG)

    # printable: PostgreSQL refuses NUL, and the name is shown in lists and the journal
    name: str = Field(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]+$")


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", **INPUT_CONFIG)

    rating: int = Field(ge=1, le=5)

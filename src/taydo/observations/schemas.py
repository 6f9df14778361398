"""API shapes of the observations domain."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from taydo.observations.retention import MAX_DAYS

__all__ = ["LatestItem", "RetentionIn", "RetentionOut", "SeriesAnswer", "SeriesPoint"]


class SeriesPoint(BaseModel):
    t: str = Field(description="Bucket start, ISO 8601 in the display time zone")
    v: float


class SeriesAnswer(BaseModel):
    entity_id: str
    metric: str
    unit: str
    bucket: str
    agg: str
    from_: str = Field(alias="from")
    to: str
    points: list[SeriesPoint]


class LatestItem(BaseModel):
    entity_id: str
    entity_type: str
    entity_name: str
    area_code: str | None
    agency_code: str | None
    metric: str
    unit: str
    ts: str = Field(description="ISO 8601 in the display time zone")
    value: float
    quality: int


# Days as a number are bounded in the schema (a client's 10**30 is a 422 before any work); the
# text forms are checked by retention.parse_days, with the same bounds.
Days = Annotated[int, Field(ge=1, le=MAX_DAYS)]
_PERIOD = "days (730), days or years as text (90d, 2y) or forever; missing: forever"


class RetentionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    raw: str | Days | None = Field(None, description=f"raw points: {_PERIOD}")
    hourly: str | Days | None = Field(None, description=f"hourly rollups: {_PERIOD}")
    daily: str | Days | None = Field(None, description=f"daily rollups: {_PERIOD}")


class RetentionOut(BaseModel):
    raw: str
    hourly: str
    daily: str

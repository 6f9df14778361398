"""API shapes of the observations domain."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

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


_PERIOD = "days (730), days or years as text (90d, 2y) or forever; missing: forever"


class RetentionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    raw: str | int | None = Field(None, description=f"raw points: {_PERIOD}")
    hourly: str | int | None = Field(None, description=f"hourly rollups: {_PERIOD}")
    daily: str | int | None = Field(None, description=f"daily rollups: {_PERIOD}")


class RetentionOut(BaseModel):
    raw: str
    hourly: str
    daily: str

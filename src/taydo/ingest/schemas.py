"""API shapes of the ingest gateways."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["IngestResult", "ObservationItem", "Rejection"]


class ObservationItem(BaseModel):
    """One item of ``POST /api/v1/observations`` (documentation; parsing is hand-written)."""

    entity_id: str = Field(examples=["urn:ngsi-ld:WaterObserved:CT-CanTho"])
    metric: str = Field(examples=["height"])
    ts: str | int = Field(
        description="ISO 8601 with offset (naive times are rejected) or epoch milliseconds",
        examples=["2026-11-27T10:00:00+07:00", 1795748400000],
    )
    value: float = Field(examples=[1.82])
    quality: int = Field(0, ge=0, le=32767, description="Quality code (0 = good)")


class Rejection(BaseModel):
    index: int = Field(description="Position of the item in the request array (from 0)")
    reason: str


class IngestResult(BaseModel):
    accepted: int = Field(description="Items newly stored (committed before this answer)")
    duplicates: int = Field(description="Valid items already stored earlier (same series, ts)")
    rejected: list[Rejection] = Field(description="Items refused; each is also quarantined")

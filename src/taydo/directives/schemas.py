"""Request bodies of the directives API (strict: see ``taydo.core.inputs``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from taydo.core.bounds import BodyId
from taydo.core.inputs import INPUT_CONFIG, Moment

__all__ = [
    "AcceptIn",
    "CancelIn",
    "CompleteIn",
    "DirectiveIn",
    "ProgressIn",
    "ReasonIn",
]

AgencyCode = str  # checked against the catalog by the service


class _Strict(BaseModel):
    model_config = ConfigDict(**INPUT_CONFIG, extra="forbid")


class DirectiveIn(_Strict):
    title: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=10_000)
    agencies: list[AgencyCode] = Field(min_length=1, max_length=100)
    due_at: Moment
    priority: str = Field("normal", pattern="^(low|normal|high|urgent)$")
    incident_id: BodyId | None = None
    kpi_code: str | None = Field(None, max_length=80)


class ProgressIn(_Strict):
    percent: int = Field(ge=0, le=100)
    note: str = Field("", max_length=4000)
    files: list[BodyId] = Field(default_factory=list, max_length=50)


class CompleteIn(_Strict):
    note: str = Field(min_length=1, max_length=4000)
    files: list[BodyId] = Field(default_factory=list, max_length=50)


class ReasonIn(_Strict):
    reason: str = Field(min_length=1, max_length=4000)


class AcceptIn(_Strict):
    note: str = Field("", max_length=4000)


CancelIn = ReasonIn

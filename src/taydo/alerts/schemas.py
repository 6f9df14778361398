"""Request bodies of the alerts API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AckIn", "AssignIn", "ResolveIn"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AckIn(_Strict):
    note: str = Field("", max_length=2000)


class ResolveIn(_Strict):
    note: str = Field(min_length=1, max_length=2000)


class AssignIn(_Strict):
    assignee: str | None = Field(None, max_length=80)

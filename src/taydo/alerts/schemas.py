"""Request bodies of the alerts API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from taydo.core.bounds import BodyId
from taydo.core.inputs import INPUT_CONFIG

__all__ = ["AckIn", "AssignIn", "ResolveIn", "RetryIn"]


class _Strict(BaseModel):
    model_config = ConfigDict(**INPUT_CONFIG, extra="forbid")


class AckIn(_Strict):
    note: str = Field("", max_length=2000)


class ResolveIn(_Strict):
    note: str = Field(min_length=1, max_length=2000)


class AssignIn(_Strict):
    assignee: str | None = Field(None, max_length=80)


class RetryIn(_Strict):
    """Dead letters to send again: these ids, or every dead one of a channel."""

    ids: list[BodyId] | None = Field(None, max_length=10_000)
    channel: str | None = Field(None, max_length=80)

"""The one shape of a paged list answer, shared by every domain's API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["Page"]


class Page(BaseModel):
    items: list[Any]
    total: int
    limit: int
    offset: int

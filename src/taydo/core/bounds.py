"""The bounds of every number a client may send, declared once for every route.

A number the databases cannot hold used to travel down to the driver and come back as a 500
(``offset=10**19``, an id of 2**63: SQLite's and PostgreSQL's integers are 64-bit signed; a
duration of ``1e300`` seconds turned into an integer column). These annotated types put the
bounds in the schema, so FastAPI refuses such input with the usual 422 before any work, and
the OpenAPI says what is accepted. ``tests/core/test_bounds.py`` fails on an integer
parameter or input field without a maximum.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

__all__ = [
    "MAX_DURATION_S",
    "MAX_INT64",
    "MAX_OFFSET",
    "BodyId",
    "Offset",
    "RowId",
    "Seconds",
]

MAX_INT64 = 2**63 - 1
"""The largest integer both databases store (SQLite INTEGER, PostgreSQL BIGINT)."""

MAX_OFFSET = 1_000_000_000
"""Rows a paged list may skip: far more than any table the IOC keeps in one list."""

MAX_DURATION_S = 10 * 366 * 86400
"""The longest duration a rule, route or escalation may name: ten years, in seconds."""

RowId = Annotated[int, Path(ge=1, le=MAX_INT64, description="the row's id")]
"""A row id in the path (alerts, silences, quarantine entries, uploads, tokens)."""

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")]
"""The ``offset`` of a paged list."""

BodyId = Annotated[int, Field(ge=1, le=MAX_INT64)]
"""A row id inside a request body."""

Seconds = Annotated[float, Field(ge=0, le=MAX_DURATION_S)]
"""A duration in seconds inside a request body."""

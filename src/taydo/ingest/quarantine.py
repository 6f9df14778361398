"""The quarantine: every gateway keeps what it rejected here, with the reason.

Nothing a sender gave us is silently dropped: an operator (or the agency's officer) can read
the raw input and the reason, fix the source, and replay or discard it (issue 4's API).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert

from taydo.core import clock
from taydo.core.db import Database
from taydo.ingest.models import QuarantineEntry

__all__ = ["Entry", "put", "put_many", "raw_text", "storable"]

RAW_LIMIT = 1_000_000  # characters kept of one raw input (a whole oversized file is not kept)
CLIP_DEPTH = 64  # levels of a raw JSON value kept (well within json's recursion limit)


@dataclass(frozen=True, slots=True)
class Entry:
    source: str
    reason: str
    raw: str | bytes | Mapping[str, Any] | Sequence[Any] | Any
    agency_code: str | None = None


def raw_text(raw: Any) -> str:
    """The raw input as text: bytes decoded (invalid UTF-8 replaced), objects as JSON."""
    if isinstance(raw, str):
        text = raw
    elif isinstance(raw, bytes | bytearray | memoryview):
        text = bytes(raw).decode("utf-8", errors="replace")
    else:
        # The json module (not orjson) so NaN and Infinity stay visible as sent. A value
        # nested deeper than json can recurse is kept clipped rather than lost.
        try:
            text = json.dumps(_clip(raw, CLIP_DEPTH), ensure_ascii=False, default=str)
        except (TypeError, ValueError):  # e.g. an integer too long to print
            text = f"<{type(raw).__name__} that cannot be shown as JSON>"
    return storable(text[:RAW_LIMIT])


def _clip(value: Any, depth: int) -> Any:
    """``value`` with what lies deeper than ``depth`` levels replaced by a marker."""
    if not isinstance(value, dict | list):
        return value
    if depth <= 0:
        return f"<{type(value).__name__} lồng sâu hơn / nested deeper than {CLIP_DEPTH} levels>"
    if isinstance(value, list):
        return [_clip(item, depth - 1) for item in value]
    return {key: _clip(item, depth - 1) for key, item in value.items()}


def storable(text: str) -> str:
    """Text that every backend can store: PostgreSQL refuses NUL characters in text, so a
    NUL is kept visibly as the escape ``\\u0000`` that JSON would show; a lone UTF-16
    surrogate (which no database stores as UTF-8) likewise becomes its escape."""
    if "\x00" in text:
        text = text.replace("\x00", "\\u0000")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def put_many(database: Database, entries: Iterable[Entry | tuple[Any, ...]]) -> int:
    """Store several rejected inputs in one transaction; returns how many.

    ``entries`` are ``Entry`` objects or ``(source, reason, raw[, agency_code])`` tuples.
    """
    received_at: datetime = clock.now()
    rows = []
    for entry in entries:
        if not isinstance(entry, Entry):
            entry = Entry(*entry)
        rows.append(
            {
                "source": storable(entry.source),
                "reason": storable(entry.reason),
                "raw": raw_text(entry.raw),
                "received_at": received_at,
                "agency_code": entry.agency_code,
                "status": "pending",
            }
        )
    if rows:
        with database.engine.begin() as connection:
            connection.execute(insert(QuarantineEntry), rows)
    return len(rows)


def put(
    database: Database,
    source: str,
    reason: str,
    raw: str | bytes | dict[str, Any] | Any,
    *,
    agency_code: str | None = None,
) -> None:
    """Store one rejected input."""
    put_many(database, [Entry(source, reason, raw, agency_code)])

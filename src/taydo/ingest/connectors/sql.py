"""The SQL connector: run an agency's query with a ``:since`` watermark.

The secret is the SQLAlchemy URL of the agency database (it holds a password, so it is kept
as the secret and never shown). The query must return rows newer than ``:since`` ordered by
time, with columns named in ``columns``; the watermark is the newest time seen, kept only after
the values are committed, so a restart neither skips nor repeats rows (a repeat of the last
run is harmless: the store drops exact duplicates).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import create_engine, text

from taydo.ingest.connectors.base import ConnectorKind, Fetched

__all__ = ["SQL", "SqlConfig"]


class Columns(BaseModel):
    entity: str = "entity"
    metric: str | None = "metric"
    metric_name: str | None = Field(None, description="A fixed metric when rows lack one.")
    ts: str = "ts"
    value: str = "value"


class SqlConfig(BaseModel):
    query: str = Field(min_length=10, description="SELECT … WHERE ts > :since ORDER BY ts")
    columns: Columns = Field(default_factory=Columns)
    ts_kind: Literal["timestamp", "epoch_ms", "text"] = "timestamp"
    start: str | None = Field(None, description="Watermark of the first run (default: all).")


def _since(config: SqlConfig, watermark: str | None) -> Any:
    raw = watermark or config.start
    if config.ts_kind == "epoch_ms":
        return int(raw) if raw else -(2**62)
    if config.ts_kind == "text":
        return raw or ""
    if raw is None:
        return datetime(1970, 1, 1, tzinfo=UTC)
    moment = datetime.fromisoformat(raw)
    return moment


def _mark(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _ts(config: SqlConfig, value: Any) -> Any:
    """The time as the validator takes it: epoch ms or ISO 8601 text with an offset
    (a database time without zone is UTC)."""
    if config.ts_kind == "timestamp" and isinstance(value, str):
        # SQLite hands timestamps back as text
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value  # the validator reports it
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    return value


def fetch(config: SqlConfig, secret: str | None, watermark: str | None) -> Fetched:
    if not secret:
        raise ValueError("the SQL connector's secret must be the database URL")
    if not config.query.lstrip().lower().startswith(("select", "with")):
        raise ValueError("query must be a SELECT")
    engine = create_engine(secret)
    try:
        with engine.connect() as connection:
            result = connection.execute(text(config.query), {"since": _since(config, watermark)})
            rows = [dict(row._mapping) for row in result]
    finally:
        engine.dispose()
    out = Fetched()
    newest: Any = None
    columns = config.columns
    for row in rows:
        record: dict[str, Any] = {"raw": {k: _mark(v) for k, v in row.items()}}
        try:
            record["entity"] = row[columns.entity]
            record["metric"] = columns.metric_name or row[columns.metric or "metric"]
            stamp = row[columns.ts]
            record["ts"] = _ts(config, stamp)
            record["value"] = row[columns.value]
        except KeyError as missing:
            record["error"] = f"thiếu cột / missing column {missing.args[0]!r}"
            out.records.append(record)
            continue
        if stamp is not None and (newest is None or stamp > newest):
            newest = stamp
        out.records.append(record)
    if newest is not None:
        out.watermark = _mark(newest)
    return out


SQL = ConnectorKind(
    name="sql",
    title="SQL",
    config_model=SqlConfig,
    fetch=fetch,
    secret_help="The SQLAlchemy URL of the agency database, with its password.",  # noqa: S106
)

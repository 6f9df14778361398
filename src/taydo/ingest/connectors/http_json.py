"""The HTTP JSON connector: GET a URL, pick records with dotted paths.

The secret, when set, is sent as the value of header ``secret_header`` (``Authorization`` by
default, e.g. ``Bearer …``). With ``since_param``, the watermark (the newest time already
stored, ISO 8601) is sent as that query parameter so the agency returns only newer records;
either way records not newer than the watermark are skipped.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, Field

from taydo.core.clock import parse_timestamp
from taydo.core.jsonbody import loads
from taydo.ingest.connectors.base import ConnectorKind, Fetched, dotted

__all__ = ["HTTP_JSON", "HttpJsonConfig"]


class FieldMap(BaseModel):
    entity: str = Field(description="Path of the entity (full id, local id or name).")
    metric: str | None = Field(None, description="Path of the metric name in the record.")
    metric_name: str | None = Field(None, description="A fixed metric when records lack one.")
    ts: str = Field(description="Path of the time (ISO 8601 with offset, or epoch ms).")
    value: str = Field(description="Path of the value.")


class HttpJsonConfig(BaseModel):
    url: str = Field(pattern=r"^https?://")
    headers: dict[str, str] = Field(default_factory=dict)
    secret_header: str = "Authorization"  # noqa: S105 - a header name
    records: str = Field("$", description="Path of the list of records in the response.")
    fields: FieldMap
    since_param: str | None = None
    timeout_s: float = Field(30.0, gt=0, le=300)


def _stamp(raw: Any) -> int | None:
    try:
        return parse_timestamp(raw, coerce_strings=True)
    except (ValueError, OverflowError, TypeError):
        return None


def fetch(config: HttpJsonConfig, secret: str | None, watermark: str | None) -> Fetched:
    headers = dict(config.headers)
    if secret:
        headers[config.secret_header] = secret
    params = {config.since_param: watermark} if config.since_param and watermark else None
    response = httpx.get(config.url, headers=headers, params=params, timeout=config.timeout_s)
    response.raise_for_status()
    # The app's strict decoder: bad UTF-8, a lone surrogate or runaway nesting is a clear
    # reason in the connector's status, not a database error further on.
    rows = dotted(loads(response.content, max_depth=None), config.records)
    if not isinstance(rows, list):
        raise ValueError(f"'{config.records}' is not a list in the response")
    floor = _stamp(watermark) if watermark else None
    out = Fetched()
    newest = floor
    for row in rows:
        record: dict[str, Any] = {"raw": row}
        fmap = config.fields
        try:
            record["entity"] = dotted(row, fmap.entity)
            record["metric"] = fmap.metric_name or dotted(row, fmap.metric or "metric")
            record["ts"] = dotted(row, fmap.ts)
            record["value"] = dotted(row, fmap.value)
        except KeyError as missing:
            record["error"] = f"thiếu trường / missing field {missing.args[0]!r}"
            out.records.append(record)
            continue
        stamp = _stamp(record["ts"])
        if stamp is not None and floor is not None and stamp <= floor:
            continue  # already stored in an earlier run
        if stamp is not None and (newest is None or stamp > newest):
            newest = stamp
        out.records.append(record)
    if newest is not None and newest != floor:
        from taydo.core import clock

        out.watermark = clock.ms_to_datetime(newest).isoformat()
    return out


HTTP_JSON = ConnectorKind(
    name="http_json",
    title="HTTP JSON",
    config_model=HttpJsonConfig,
    fetch=fetch,
    secret_help="Sent as the value of the header named secret_header.",  # noqa: S106
)

"""The built-in connector kinds, registered through the ``taydo`` entry point like any plugin."""

from __future__ import annotations

from taydo.core.plugins import hookimpl
from taydo.ingest.connectors.base import ConnectorKind
from taydo.ingest.connectors.http_json import HTTP_JSON
from taydo.ingest.connectors.sql import SQL


@hookimpl
def register_connectors() -> list[ConnectorKind]:
    return [HTTP_JSON, SQL]

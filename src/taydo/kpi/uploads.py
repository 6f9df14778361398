"""KPI values from a spreadsheet (.xlsx or .csv), read by the same parser as agency uploads
(``taydo.ingest.files.parse``: Vietnamese number formats, hostile files refused cleanly).
Columns, by header (Vietnamese or English): ``kỳ``/``period``, ``phường, xã``/``area``
(optional), ``giá trị``/``value``, ``minh chứng``/``evidence``."""

from __future__ import annotations

from typing import Any

from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Invalid
from taydo.ingest.files.parse import read_table
from taydo.kpi.service import import_entries

__all__ = ["import_file"]


def import_file(
    database: Database,
    code: str,
    filename: str,
    data: bytes,
    principal: Principal,
    *,
    zone: str,
    all_or_nothing: bool,
    address: str | None = None,
) -> dict[str, Any]:
    try:
        parsed = read_table(filename, data)
    except ValueError as error:
        raise Invalid(f"tệp không đọc được / unreadable file: {error}") from None
    rows = [(row.number, row.cells) for row in parsed.rows]
    return import_entries(
        database, code, rows, principal, zone=zone, all_or_nothing=all_or_nothing, address=address
    )

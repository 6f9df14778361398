"""Multi-row INSERT … RETURNING and executemany UPDATE straight through the DBAPI (``bulk``).

SQLAlchemy's executemany builds and processes a parameter dictionary for every row (about
half the CPU of an NGSI-LD batch write went there); these helpers take plain tuples of values
the driver already accepts, so the per-row cost is the database's own. Values must be ready
for the driver: JSON as text (``json_columns`` are cast on PostgreSQL), datetimes through
:func:`bind_value` once per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Connection, Table

__all__ = ["bind_value", "insert_returning", "update_many"]

MAX_PARAMETERS = 30_000  # per statement: under SQLite's 32,766 and PostgreSQL's 65,535
MAX_ROWS = 1_000  # per statement: the same text each full chunk, so drivers reuse the plan


def _marker(connection: Connection, column: Column[Any], json_columns: set[str]) -> str:
    if connection.dialect.paramstyle == "qmark":
        return "?"
    if connection.dialect.paramstyle not in ("format", "pyformat"):
        raise NotImplementedError(f"paramstyle {connection.dialect.paramstyle}")
    return "CAST(%s AS JSON)" if column.name in json_columns else "%s"


def bind_value(connection: Connection, column: Column[Any], value: Any) -> Any:
    """``value`` as SQLAlchemy would hand it to the driver for ``column`` (e.g. a datetime
    as SQLite text); done once for a value every row shares."""
    processor = column.type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    return processor(value) if processor is not None else value


def insert_returning(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    returning: Sequence[str],
    *,
    json_columns: frozenset[str] = frozenset(),
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (values in ``columns`` order); the ``returning`` columns of every new
    row, in no particular order (callers match them by a key they returned)."""
    wanted = set(json_columns)
    markers = ", ".join(_marker(connection, table.c[name], wanted) for name in columns)
    # Identifiers from our own Table (``table.c[name]`` above refuses any other); values bound.
    head = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "  # noqa: S608
    tail = f" RETURNING {', '.join(returning)}"
    per = max(1, min(MAX_ROWS, MAX_PARAMETERS // max(1, len(columns))))
    out: list[Any] = []
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        sql = head + ", ".join([f"({markers})"] * len(chunk)) + tail
        flat = tuple(value for row in chunk for value in row)
        out.extend(connection.exec_driver_sql(sql, flat).fetchall())
    return out


def update_many(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    json_columns: frozenset[str] = frozenset(),
) -> None:
    """``UPDATE table SET columns… WHERE id = ?`` for each row: its values in ``columns``
    order, then the id."""
    wanted = set(json_columns)
    assignments = ", ".join(
        f"{name} = {_marker(connection, table.c[name], wanted)}" for name in columns
    )
    key = _marker(connection, table.c.id, wanted)
    # Identifiers from our own Table (``table.c[name]`` above refuses any other); values bound.
    sql = f"UPDATE {table.name} SET {assignments} WHERE id = {key}"  # noqa: S608
    connection.exec_driver_sql(sql, list(rows))

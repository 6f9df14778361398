"""Timestamps read back from either database are aware UTC (issue 18, items 1 and 11).

SQLite has no time zone type: a plain ``DateTime(timezone=True)`` column hands back naive
values there, which could not be compared with ``clock.now()`` (a 500 when a silence was
ended) and went out of the API without an offset (``/tokens``, ``/users``). ``UTCDateTime``
converts on the way in and marks UTC on the way out; every timestamp column uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

from fastapi.testclient import TestClient
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, select

from taydo.core.db import Base, Database, UTCDateTime

HO_CHI_MINH = timezone(timedelta(hours=7))


def test_every_timestamp_column_is_utc_typed() -> None:
    plain = [
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, DateTime)  # UTCDateTime is a decorator, not a DateTime
    ]
    assert plain == [], f"use taydo.core.db.UTCDateTime for {plain}"
    typed = [
        c for t in Base.metadata.sorted_tables for c in t.columns if isinstance(c.type, UTCDateTime)
    ]
    assert len(typed) >= 20  # the audit journal, alerts, tokens, uploads …


def test_values_come_back_aware_utc_and_compare_across_offsets(database: Database) -> None:
    metadata = MetaData()
    table = Table(
        "utc_probe", metadata, Column("id", Integer, primary_key=True), Column("at", UTCDateTime())
    )
    metadata.create_all(database.engine)
    local = datetime(2026, 10, 1, 8, 30, tzinfo=HO_CHI_MINH)  # 01:30 UTC
    naive = datetime(2026, 10, 1, 2, 30)  # taken as UTC
    try:
        with database.engine.begin() as connection:
            connection.execute(table.insert(), [{"id": 1, "at": local}, {"id": 2, "at": naive}])
        with database.engine.connect() as connection:
            rows = dict(connection.execute(select(table.c.id, table.c.at)).all())
            later = connection.execute(
                select(table.c.id).where(table.c.at > datetime(2026, 10, 1, 9, tzinfo=HO_CHI_MINH))
            ).scalars()
            later_ids = list(later)
    finally:
        metadata.drop_all(database.engine)
    assert rows[1] == datetime(2026, 10, 1, 1, 30, tzinfo=UTC)
    assert rows[1].utcoffset() == timedelta(0)
    assert rows[2] == datetime(2026, 10, 1, 2, 30, tzinfo=UTC)
    assert later_ids == [2]  # 02:30 UTC is after 09:00 +07:00 (02:00 UTC); 01:30 is not


def test_tokens_and_users_answer_times_with_an_offset(
    client: TestClient, headers_for: Callable[..., dict[str, str]]
) -> None:
    admin = headers_for("admin")
    tokens = client.get("/api/v1/tokens", headers=admin)
    users = client.get("/api/v1/users", headers=admin)
    assert tokens.status_code == 200 and users.status_code == 200, (tokens.text, users.text)
    stamps = [
        value
        for row in [*tokens.json(), *users.json()]
        for key, value in row.items()
        if key.endswith("_at") and value is not None
    ]
    assert stamps, "expected created_at values"
    for stamp in stamps:
        assert datetime.fromisoformat(stamp).tzinfo is not None, stamp

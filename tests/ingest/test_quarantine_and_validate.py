"""The pieces other gateways reuse: quarantine.put/put_many and validate_items."""

from __future__ import annotations

from sqlalchemy import text

from taydo.catalog.series import SeriesIndex
from taydo.core.db import Database
from taydo.ingest import quarantine
from taydo.ingest.validate import REASON_UNKNOWN_SERIES, validate_items
from tests.ingest.conftest import MakeSeries

NOW = 1_795_748_400_000


def test_put_keeps_raw_input_as_text(database: Database) -> None:
    quarantine.put(database, "mqtt", "bad payload", b"\xff\xfe{broken", agency_code="SNNMT")
    quarantine.put_many(
        database,
        [
            ("file", "row 3: value must be a number", {"value": "abc", "row": 3}),
            quarantine.Entry("http", "value must be finite", {"value": float("nan")}),
        ],
    )
    with database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT source, reason, raw, agency_code, status FROM quarantine ORDER BY id")
        ).all()
    assert [tuple(r) for r in rows] == [
        ("mqtt", "bad payload", "\ufffd\ufffd{broken", "SNNMT", "pending"),
        ("file", "row 3: value must be a number", '{"value": "abc", "row": 3}', None, "pending"),
        ("http", "value must be finite", '{"value": NaN}', None, "pending"),
    ]


def test_validation_of_text_rows_for_file_imports(
    database: Database, series_of: MakeSeries
) -> None:
    sid = series_of("CT-1", {"height": (0.0, 5.0)})["height"]
    index = SeriesIndex(database)
    items = [
        {
            "entity_id": "urn:ngsi-ld:WaterObserved:CT-1",
            "metric": "height",
            "ts": "1795748400000",
            "value": "1.5",
            "quality": "2",
        },
        {
            "entity_id": "urn:ngsi-ld:WaterObserved:CT-1",
            "metric": "height",
            "ts": "2026-11-27T10:01:00+07:00",
            "value": "abc",
        },
        {
            "entity_id": "urn:ngsi-ld:WaterObserved:CT-1",
            "metric": "height",
            "ts": "2026-11-27T10:02:00+07:00",
            "value": "7",
        },
    ]
    strict = validate_items(items, index, now_ms=NOW)
    assert strict.rows == [] and len(strict.rejected) == 3
    lenient = validate_items(items, index, now_ms=NOW, coerce_strings=True)
    assert lenient.rows == [(sid, 1795748400000, 1.5, 2)]
    assert [(i, agency) for i, _reason, agency in lenient.rejected] == [(1, "SNNMT"), (2, "SNNMT")]
    assert "valid range [0.0, 5.0]" in lenient.rejected[1][1]
    scoped = validate_items(
        items[:1], index, now_ms=NOW, may_write=lambda a: a == "OTHER", coerce_strings=True
    )
    assert scoped.rejected == [(0, REASON_UNKNOWN_SERIES, None)]


def test_nul_characters_are_quarantined_visibly_on_every_backend(database) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from taydo.ingest import quarantine
    from taydo.ingest.models import QuarantineEntry

    quarantine.put(database, "mqtt", "unknown metric '\x00'", b'{"\x00": 1}')
    with database.session() as session:
        row = session.scalars(select(QuarantineEntry)).one()
    assert row.raw == '{"\\u0000": 1}'
    assert row.reason == "unknown metric '\\u0000'"

"""One import pipeline behind every door: a console/API upload, `taydo import file`,
`taydo import observations` and a pull connector refuse the same bad value for the same
reason (``taydo.ingest.pipeline``)."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import create_engine, select, text
from typer.testing import CliRunner

from taydo.catalog.series import SeriesIndex
from taydo.cli import app as cli
from taydo.core.access import Principal
from taydo.core.plugins import make_plugin_manager
from taydo.core.secrets import SecretBox
from taydo.ingest import pipeline
from taydo.ingest.connectors import service as connectors
from taydo.ingest.files import service as files
from taydo.ingest.models import QuarantineEntry
from taydo.ingest.resolve import EntityResolver
from tests.ingest.files.test_upload import CSV, MAPPING, _dataset, _upload

KEY = "a-deployment-key-for-the-pipeline-test"
ADMIN = Principal(username="test", role="admin")
TOO_HIGH = "01/02/2026 08:00;Trạm Ninh Kiều;1.234,5;29\n"  # 1234.5 m: above max 10


def _range_reason(problems: list[dict], row: int) -> str:  # type: ignore[type-arg]
    (reason,) = [p["reason"] for p in problems if p["row"] == row and p["column"] == "Mực nước (m)"]
    return reason


def test_upload_and_cli_import_give_every_row_the_same_report(  # type: ignore[no-untyped-def]
    client, database, headers_for, tmp_path, monkeypatch
) -> None:
    _dataset(database)
    operator = headers_for("operator")
    client.put("/api/v1/datasets/muc-nuoc-tay/column-mapping", headers=operator, json=MAPPING)
    uploaded = _upload(client, operator, CSV.encode(), mode="all_or_nothing").json()

    path = tmp_path / "so-lieu.csv"
    path.write_bytes(CSV.encode())
    monkeypatch.setenv("TAYDO_DATABASE_URL", database.url)
    result = CliRunner().invoke(
        cli, ["import", "file", "muc-nuoc-tay", str(path), "--mode", "all_or_nothing"]
    )
    assert result.exit_code == 1, result.output
    (latest, _first) = files.list_uploads(database, ADMIN, "muc-nuoc-tay")
    from_cli = files.get_upload(database, ADMIN, "muc-nuoc-tay", latest["id"])

    assert uploaded["problems"] and from_cli["problems"] == uploaded["problems"]
    for key in ("status", "rows", "rows_rejected", "values_stored", "encoding"):
        assert from_cli[key] == uploaded[key]
    assert "ngoài khoảng hợp lệ" in _range_reason(uploaded["problems"], 3)


def test_the_same_value_is_refused_for_the_same_reason_through_every_door(  # type: ignore[no-untyped-def]
    client, database, headers_for, tmp_path, monkeypatch
) -> None:
    _dataset(database)
    operator = headers_for("operator")
    client.put("/api/v1/datasets/muc-nuoc-tay/column-mapping", headers=operator, json=MAPPING)
    header = CSV.splitlines(keepends=True)[0]
    upload = _upload(client, operator, (header + TOO_HIGH).encode()).json()
    reason = _range_reason(upload["problems"], 2)

    # `taydo import observations`: the canonical columns; the reason lands in the report CSV.
    path = tmp_path / "quan-trac.csv"
    path.write_text(
        "entity_id,metric,ts,value\n"
        "urn:ngsi-ld:WaterObserved:NK-01,height,2026-02-01T08:00:00+07:00,1234.5\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("TAYDO_DATABASE_URL", database.url)
    result = CliRunner().invoke(cli, ["import", "observations", str(path)])
    assert result.exit_code == 1, result.output
    with Path(f"{path}.rejected.csv").open(encoding="utf-8") as handle:
        (line,) = list(csv.DictReader(handle))
    assert line["reason"] == reason

    # A pull connector: the station by its code within the agency; the reason is quarantined.
    source = f"sqlite:///{tmp_path / 'agency.db'}"
    engine = create_engine(source)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE quan_trac (ma_tram TEXT, thoi_gian TEXT, v REAL)"))
        connection.execute(
            text("INSERT INTO quan_trac VALUES ('NK-01', '2026-02-01 01:00:00', 1234.5)")
        )
    engine.dispose()
    connectors.create_connector(
        database,
        make_plugin_manager(),
        SecretBox(KEY),
        None,
        connectors.ConnectorIn(
            name="so-tnmt-sql",
            kind="sql",
            agency="SNNMT",
            config={
                "query": "SELECT ma_tram, thoi_gian, v FROM quan_trac WHERE thoi_gian > :since",
                "columns": {
                    "entity": "ma_tram",
                    "metric_name": "height",
                    "ts": "thoi_gian",
                    "value": "v",
                },
            },
            secret=source,
            interval_s=60,
        ),
    )
    run = connectors.run_connector(
        database,
        make_plugin_manager(),
        SecretBox(KEY),
        "so-tnmt-sql",
        series=SeriesIndex(database),
        resolver=EntityResolver(database),
        store=pipeline.direct_store(database),
    )["run"]
    assert run == {"stored": 0, "rejected": 1, "error": None}
    with database.session() as session:
        quarantined = session.scalars(
            select(QuarantineEntry.reason).where(QuarantineEntry.source == "connector:so-tnmt-sql")
        ).all()
    assert quarantined == [reason]

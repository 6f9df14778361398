"""Retention policies: parsed and checked, set with agency scope and journaled, loaded from a
pack, and applied — whole partitions dropped on PostgreSQL, rows deleted otherwise — without
touching what a longer policy keeps."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from taydo.auth import journal
from taydo.catalog.models import Agency, Dataset, Entity
from taydo.core.db import Database
from taydo.core.errors import Invalid, NotFound
from taydo.observations.buckets import DAY_MS, HOUR_MS
from taydo.observations.compaction import compact_database
from taydo.observations.maintenance import apply_retention_database, maintain_storage
from taydo.observations.policies import list_policies, load_retention, set_policy
from taydo.observations.retention import Policy, parse_days
from taydo.observations.service import Point, write_points
from tests.observations.conftest import make_series

MINUTE = 60_000


def ms(text_: str) -> int:
    return int(datetime.fromisoformat(text_).replace(tzinfo=UTC).timestamp() * 1000)


# "Now" for the runs below: every point is written at a fixed age before it.
NOW = ms("2026-07-15T12:00:00")


def scalar(database: Database, sql: str) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one() or 0)


def make_dataset(database: Database, code: str, agency: str = "SNNMT") -> None:
    with database.session() as session:
        owner = session.query(Agency).filter_by(code=agency).one_or_none()
        if owner is None:
            owner = Agency(code=agency, name=f"Cơ quan {agency}", kind="so")
            session.add(owner)
            session.flush()
        session.add(
            Dataset(
                code=code,
                name=f"Bộ dữ liệu {code}",
                agency_id=owner.id,
                pillar="government",
                sector="environment",
                update_interval_s=60,
            )
        )


def series_in(database: Database, local: str, dataset: str | None) -> int:
    sid = make_series(database, local)["height"]
    if dataset is not None:
        with database.session() as session:
            found = session.query(Dataset).filter_by(code=dataset).one()
            entity = session.query(Entity).filter_by(entity_id=f"urn:ngsi-ld:WaterObserved:{local}")
            entity.one().dataset_id = found.id
    return sid


def hours_of(sid: int, start: int, hours: int) -> list[Point]:
    """One point every 10 minutes for ``hours`` hours from ``start``."""
    return [Point(sid, start + m * 10 * MINUTE, float(m % 50)) for m in range(hours * 6)]


def counts(database: Database, sid: int) -> dict[str, int]:
    where = f"WHERE series_id = {sid}"
    return {
        "raw": scalar(database, f"SELECT count(*) FROM observations {where}"),
        "packed": scalar(
            database, f"SELECT coalesce(sum(count), 0) FROM observations_packed {where}"
        ),
        "hourly": scalar(database, f"SELECT count(*) FROM observations_hourly {where}"),
        "daily": scalar(database, f"SELECT count(*) FROM observations_daily {where}"),
    }


# -- policies -------------------------------------------------------------------------------


def test_periods_and_their_order_are_checked() -> None:
    assert parse_days("2y") == 730
    assert parse_days("90d") == parse_days("90") == parse_days(90) == 90
    assert parse_days("forever") is None and parse_days(None) is None
    for bad in ("2 weeks", "0", "-3", "1000000y", True):
        with pytest.raises(Invalid):
            parse_days(bad)  # type: ignore[arg-type]
    assert Policy.parse({"raw": "2y", "hourly": "10y"}).shown() == {
        "raw": "2y",
        "hourly": "10y",
        "daily": "forever",
    }
    with pytest.raises(Invalid, match="raw must not be kept longer than hourly"):
        Policy.parse({"raw": "3y", "hourly": "1y"})
    with pytest.raises(Invalid, match="unknown keys"):
        Policy.parse({"raw": "1y", "minutely": "1d"})


# -- applying them -----------------------------------------------------------------------


def test_each_dataset_keeps_what_its_policy_says(database: Database) -> None:
    make_dataset(database, "short")
    make_dataset(database, "long")
    short = series_in(database, "R1", "short")
    long_ = series_in(database, "R2", "long")
    other = series_in(database, "R3", None)  # no dataset: the default policy
    old = NOW - 400 * DAY_MS  # older than a year
    middle = NOW - 100 * DAY_MS
    recent = NOW - 10 * DAY_MS
    for sid in (short, long_, other):
        for start in (old, middle, recent):
            write_points(database, hours_of(sid, start - start % HOUR_MS, 3))
    # Some of it packed: retention removes packed hours as it does raw rows.
    compact_database(database, middle + 2 * HOUR_MS)
    before = {sid: counts(database, sid) for sid in (short, long_, other)}
    assert before[short]["raw"] + before[short]["packed"] == 54
    assert before[short]["packed"] == 30  # the old block and 2 hours of the middle one

    set_policy(database, "short", {"raw": "30d", "hourly": "1y", "daily": "forever"}, None)
    set_policy(database, "long", {"raw": "2y"}, None)
    set_policy(database, None, {"raw": "200d", "hourly": "200d", "daily": "200d"}, None)
    run = apply_retention_database(database, NOW)

    kept = {sid: counts(database, sid) for sid in (short, long_, other)}
    # "short": raw points only of the recent 3 hours; hourly rollups of the last year; daily all.
    assert kept[short]["raw"] + kept[short]["packed"] == 18
    assert kept[short]["hourly"] == before[short]["hourly"] - 3
    assert kept[short]["daily"] == before[short]["daily"]
    # "long": everything (2 years raw, rollups forever).
    assert kept[long_] == before[long_]
    # The default (200 days for every tier): only the old block goes, from every tier.
    assert kept[other]["raw"] + kept[other]["packed"] == 36
    assert kept[other]["hourly"] == before[other]["hourly"] - 3
    assert kept[other]["daily"] == before[other]["daily"] - 1
    assert run.rows_deleted > 0
    # A second run finds nothing more.
    again = apply_retention_database(database, NOW)
    assert again.rows_deleted == 0 and again.dropped == []


def test_without_a_policy_nothing_is_removed(database: Database) -> None:
    sid = series_in(database, "N1", None)
    write_points(database, hours_of(sid, NOW - 3000 * DAY_MS, 2))
    run = apply_retention_database(database, NOW)
    assert run.rows_deleted == 0 and run.dropped == []
    assert counts(database, sid)["raw"] == 12


@pytest.mark.postgres
def test_expired_months_are_dropped_whole_and_can_come_back(database: Database) -> None:
    if database.dialect != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no partitions")
    make_dataset(database, "city")
    sid = series_in(database, "P1", "city")
    january = ms("2024-01-10T00:00:00")
    write_points(database, hours_of(sid, january, 5))
    write_points(database, hours_of(sid, NOW - 2 * DAY_MS, 5))
    compact_database(database, january + 3 * HOUR_MS)  # a packed part, a raw part
    set_policy(database, None, {"raw": "1y", "hourly": "1y", "daily": "1y"}, None)
    result = maintain_storage(database, pack_before_ms=None, now_ms=NOW)
    assert result.compaction is None
    assert {
        "observations_p202401",
        "observations_packed_p202401",
        "observations_hourly_p202401",
        "observations_daily_p2024",
    } <= set(result.retention.dropped)
    assert (
        scalar(database, "SELECT count(*) FROM pg_class WHERE relname = 'observations_p202401'")
        == 0
    )
    assert counts(database, sid)["raw"] == 30
    assert counts(database, sid)["daily"] == 1  # the January day deleted, today kept
    # A late point for the dropped month: the writer (which had created the partition)
    # finds it gone, creates it again and stores the point.
    assert write_points(database, [Point(sid, january + 7, 1.0)]).accepted == 1
    assert scalar(database, f"SELECT count(*) FROM observations WHERE series_id = {sid}") == 31
    # ... and a rollup flush for it too (the hourly partition was dropped as well).
    assert counts(database, sid)["hourly"] >= 1


@pytest.mark.postgres
def test_rollups_and_packed_hours_are_partitioned(database: Database) -> None:
    if database.dialect != "postgresql":
        pytest.skip("PostgreSQL only: SQLite keeps single tables")
    sid = series_in(database, "P2", None)
    write_points(database, hours_of(sid, ms("2025-03-31T20:00:00"), 6))  # across a month end
    compact_database(database, ms("2025-04-02T00:00:00"))
    with database.engine.connect() as connection:
        parents = dict(
            connection.execute(
                text(
                    "SELECT c.relname, p.relname FROM pg_inherits i "
                    "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
                    "WHERE c.relnamespace = to_regnamespace(current_schema())"
                )
            ).all()
        )
    assert parents["observations_packed_p202503"] == "observations_packed"
    assert parents["observations_packed_p202504"] == "observations_packed"
    assert parents["observations_hourly_p202503"] == "observations_hourly"
    assert parents["observations_daily_p2025"] == "observations_daily"
    assert counts(database, sid)["packed"] == 36


# -- setting them -----------------------------------------------------------------------


def test_the_api_keeps_agency_scope_and_journals(
    database: Database, client: TestClient, headers_for
) -> None:  # type: ignore[no-untyped-def]
    make_dataset(database, "own", agency="SNNMT")
    make_dataset(database, "theirs", agency="SXD")
    officer = headers_for("agency_officer", ["SNNMT"])
    admin = headers_for("admin")
    viewer = headers_for("viewer")

    answer = client.put(
        "/api/v1/datasets/own/retention", json={"raw": "2y", "hourly": "10y"}, headers=officer
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"raw": "2y", "hourly": "10y", "daily": "forever"}
    # Another agency's dataset is as unknown as a missing one.
    theirs = client.put("/api/v1/datasets/theirs/retention", json={"raw": 30}, headers=officer)
    missing = client.put("/api/v1/datasets/nope/retention", json={"raw": 30}, headers=officer)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["error"].replace("theirs", "X") == missing.json()["error"].replace(
        "nope", "X"
    )
    # The default is for administrators.
    assert client.put("/api/v1/retention/default", json={}, headers=officer).status_code == 403
    bad = client.put("/api/v1/retention/default", json={"raw": "5y", "hourly": "1y"}, headers=admin)
    assert bad.status_code == 422 and "raw" in bad.text
    assert (
        client.put("/api/v1/retention/default", json={"raw": "2 weeks"}, headers=admin).status_code
        == 422
    )
    assert (
        client.put("/api/v1/retention/default", json={"raw": "2y"}, headers=admin).status_code
        == 200
    )
    assert (
        client.put("/api/v1/retention/default", json={"raw": 1, "x": 2}, headers=admin).status_code
        == 422
    )

    listed = client.get("/api/v1/retention", headers=viewer)
    assert listed.status_code == 200
    assert listed.json() == {
        "default": {"raw": "2y", "hourly": "forever", "daily": "forever"},
        "datasets": [{"dataset": "own", "raw": "2y", "hourly": "10y", "daily": "forever"}],
    }
    assert client.put("/api/v1/datasets/own/retention", json={}, headers=viewer).status_code == 403
    assert client.delete("/api/v1/datasets/own/retention", headers=officer).status_code == 204
    assert client.delete("/api/v1/datasets/own/retention", headers=officer).status_code == 404

    trail = journal.timeline(database, "retention", "own")
    assert [e["action"] for e in trail] == ["retention.set", "retention.unset"]
    assert trail[0]["actor"].startswith("agency_officer-")
    assert trail[0]["summary"]["after"] == {"raw": "2y", "hourly": "10y", "daily": "forever"}
    assert [e["action"] for e in journal.timeline(database, "retention", "*")] == ["retention.set"]


def test_a_pack_and_the_cli_set_them(database: Database, tmp_path: Path) -> None:
    from taydo.cli import app as cli_app

    make_dataset(database, "water-level")
    (tmp_path / "retention.yaml").write_text(
        "default: {raw: 5y}\ndatasets:\n  water-level: {raw: 2y, hourly: 10y, daily: forever}\n",
        encoding="utf-8",
    )
    assert load_retention(database, tmp_path) == 2
    assert list_policies(database)["datasets"] == [
        {"dataset": "water-level", "raw": "2y", "hourly": "10y", "daily": "forever"}
    ]
    (tmp_path / "retention.yaml").write_text("datasets:\n  nope: {raw: 2y}\n", encoding="utf-8")
    with pytest.raises(Invalid, match="nope"):
        load_retention(database, tmp_path)
    with pytest.raises(NotFound):
        set_policy(database, "nope", {}, None)

    env = {"TAYDO_DATABASE_URL": database.url, "TAYDO_CONFIG_FILE": str(tmp_path / "none.toml")}
    runner = CliRunner()
    answer = runner.invoke(
        cli_app,
        ["db", "retention", "set", "--dataset", "water-level", "--raw", "90d", "--hourly", "3y"],
        env=env,
    )
    assert answer.exit_code == 0, answer.output
    bad = runner.invoke(cli_app, ["db", "retention", "set", "--raw", "soon"], env=env)
    assert bad.exit_code == 2 and "soon" in bad.output
    shown = runner.invoke(cli_app, ["db", "retention", "show"], env=env)
    assert "water-level: raw 90d, hourly 3y, daily forever" in shown.output
    assert "default" in shown.output and "raw 5y" in shown.output
    sid = series_in(database, "C1", "water-level")
    write_points(database, hours_of(sid, NOW - 400 * DAY_MS, 1))
    applied = runner.invoke(cli_app, ["db", "retention", "apply"], env=env)
    assert applied.exit_code == 0, applied.output
    assert counts(database, sid)["raw"] == 0
    assert counts(database, sid)["hourly"] == 1
    assert [e["actor"] for e in journal.timeline(database, "retention", "water-level")] == [
        "system",
        "system",
    ]


@pytest.mark.postgres
def test_a_flush_into_a_dropped_rollup_partition_recreates_it(database: Database) -> None:
    if database.dialect != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no partitions")
    from taydo.observations.service import store_for

    sid = series_in(database, "F1", None)
    store = store_for(database)
    march = ms("2024-03-05T00:00:00")
    raw = database.engine.raw_connection()
    try:
        connection = raw.driver_connection
        rows = [(sid, march + m * MINUTE, float(m), 0) for m in range(90)]
        assert len(store.write_deferred(connection, rows)) == 90  # rollups journaled only
        # Between the write and the flush, the month's hourly partition goes (retention in
        # another process, say); the flush finds it missing, creates it and applies.
        connection.execute("DROP TABLE observations_hourly_p202403")
        connection.commit()
        assert store.flush(connection) == 1
    finally:
        raw.close()
    assert counts(database, sid)["hourly"] == 2
    assert scalar(database, "SELECT count(*) FROM observations_unfolded") == 0
    assert (
        scalar(database, f"SELECT sum(count) FROM observations_hourly WHERE series_id = {sid}")
        == 90
    )


def test_the_server_applies_retention_after_compacting(database: Database) -> None:
    import time

    from taydo.app import create_app
    from taydo.core.runtime import runtime_of
    from taydo.core.settings import Settings
    from taydo.observations.maintenance import StorageMaintainer

    sid = series_in(database, "S1", None)
    old = NOW - 3000 * DAY_MS  # years before the real clock too
    write_points(database, hours_of(sid, old - old % HOUR_MS, 2))
    set_policy(database, None, {"raw": "1y", "hourly": "1y", "daily": "1y"}, None)
    settings = Settings(  # type: ignore[call-arg]
        database_url=database.url,
        dev=True,
        observations_pack_after_hours=24.0,
        observations_pack_interval_s=0.1,
        _env_file=None,
    )
    with TestClient(create_app(settings, database=database)) as client:
        maintainer = runtime_of(client.app).find(StorageMaintainer)
        deadline = time.monotonic() + 20
        while maintainer.runs < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert maintainer.runs >= 1
    assert counts(database, sid) == {"raw": 0, "packed": 0, "hourly": 0, "daily": 0}

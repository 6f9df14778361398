"""/healthz, /readyz and /metrics: what an operator's probes and Prometheus read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from taydo.app import create_app
from taydo.core.db import Database
from taydo.core.settings import Settings
from tests.ops.conftest import MakeSeries

E1 = "urn:ngsi-ld:WaterObserved:CT-1"


def _samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def _settings(database: Database, **changes: object) -> Settings:
    return Settings(  # type: ignore[call-arg]
        database_url=database.url,
        dev=True,
        observations_pack_after_hours=0,
        _env_file=None,
        **changes,
    )


def test_healthz_and_readyz_answer_anyone(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert set(checks) == {"database", "migrations", "bus", "mqtt", "writer"}
    assert all(check["ok"] for check in checks.values())
    assert checks["writer"]["queue_rows"] == 0 and checks["migrations"]["pending"] == []


def test_readyz_says_which_check_fails(database: Database) -> None:
    # A broker nobody listens on: the gateway cannot connect, the process is not ready.
    settings = _settings(database, mqtt_url="mqtt://127.0.0.1:1")
    with TestClient(create_app(settings, database=database)) as client:
        answer = client.get("/readyz")
        assert answer.status_code == 503
        checks = answer.json()["checks"]
        assert checks["mqtt"] == {"ok": False, "state": "disconnected"}
        assert checks["database"]["ok"] and checks["writer"]["ok"]
        # A schema behind the code (one domain's revision missing) is not ready either.
        # (Put back after: the PostgreSQL schema is shared by the tests that follow.)
        # The revision removed is whichever head the schema holds now (read, not named: a
        # named one goes stale when its domain gains a migration, and putting it back would
        # then leave two heads of one branch for the tests that follow).
        with database.engine.begin() as connection:
            head = connection.execute(
                text("SELECT version_num FROM alembic_version ORDER BY version_num LIMIT 1")
            ).scalar_one()
            connection.execute(
                text("DELETE FROM alembic_version WHERE version_num = :head"), {"head": head}
            )
        try:
            checks = client.get("/readyz").json()["checks"]
        finally:
            with database.engine.begin() as connection:
                connection.execute(
                    text("INSERT INTO alembic_version (version_num) VALUES (:head)"),
                    {"head": head},
                )
        assert checks["migrations"]["ok"] is False
        assert head in checks["migrations"]["pending"]
        assert client.get("/readyz").json()["checks"]["migrations"]["ok"] is True


def test_metrics_need_the_permission_or_the_token(
    database: Database, headers_for: Callable[..., dict[str, str]]
) -> None:
    settings = _settings(database, metrics_token="scrape-token-0123456789abcdef")
    with TestClient(create_app(settings, database=database)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=headers_for("viewer")).status_code == 403
        wrong = {"Authorization": "Bearer not-the-token"}
        assert client.get("/metrics", headers=wrong).status_code == 401
        assert client.get("/metrics", headers=headers_for("admin")).status_code == 200
        scrape = client.get(
            "/metrics",
            headers={"Authorization": f"Bearer {settings.metrics_token.get_secret_value()}"},
        )
        assert scrape.status_code == 200
        assert scrape.headers["content-type"].startswith("text/plain")
        assert "scrape-token" not in scrape.text


def test_metrics_count_ingest_commits_and_routes_by_template(
    client: TestClient,
    headers_for: Callable[..., dict[str, str]],
    series_of: MakeSeries,
) -> None:
    series_of("CT-1", {"height": (-5.0, 10.0)})
    operator = headers_for("operator")
    body = [
        {"entity_id": E1, "metric": "height", "ts": 1795748400000 + n * 60_000, "value": n}
        for n in range(5)
    ] + [{"entity_id": E1, "metric": "no-such-metric", "ts": 1795748400000, "value": 1}]
    answer = client.post("/api/v1/observations", json=body, headers=operator)
    assert answer.status_code == 200 and answer.json()["accepted"] == 5
    assert client.get("/api/v1/alerts/424242", headers=operator).status_code == 404
    metrics = client.get("/metrics", headers=headers_for("admin"))
    assert metrics.status_code == 200
    samples = _samples(metrics.text)
    points = "taydo_ingest_points_total"
    assert samples[(points, (("gateway", "http"), ("outcome", "accepted")))] == 5
    assert samples[(points, (("gateway", "http"), ("outcome", "rejected")))] == 1
    assert samples[("taydo_writer_commit_duration_seconds_count", ())] >= 1
    assert samples[("taydo_writer_queue_rows", ())] == 0
    # Latency by the route's template, never the raw URL (424242 names no series of ours).
    route = (("method", "GET"), ("route", "/api/v1/alerts/{alert_id}"), ("status", "4xx"))
    assert samples[("taydo_http_request_duration_seconds_count", route)] == 1
    assert "424242" not in metrics.text
    assert samples[("taydo_sse_clients", ())] == 0
    assert samples[("taydo_admission_shed_total", (("class", "ingest"),))] == 0
    assert samples[("taydo_admission_admitted_total", (("class", "ingest"),))] == 1
    assert ("process_resident_memory_bytes", ()) in samples


def test_ngsi_ld_writes_are_counted_by_their_gateway(
    database: Database, tmp_path: Path, headers_for: Callable[..., dict[str, str]]
) -> None:
    from tests.ingest.ngsild.conftest import LD, fill_store
    from tests.ingest.ngsild.test_api import station

    fill_store(tmp_path / "contexts")
    settings = _settings(database, contexts_dir=tmp_path / "contexts")
    admin = headers_for("admin")
    with TestClient(create_app(settings, database=database)) as client:
        created = client.post("/ngsi-ld/v1/entities", json=station("CT01"), headers={**admin, **LD})
        assert created.status_code == 201, created.text
        samples = _samples(client.get("/metrics", headers=admin).text)
    accepted = (("gateway", "ngsi-ld"), ("outcome", "accepted"))
    assert samples[("taydo_ingest_points_total", accepted)] == 2  # salinity, temperature


def test_a_dead_writer_answers_503_and_readyz_says_not_ready(
    client: TestClient,
    headers_for: Callable[..., dict[str, str]],
    series_of: MakeSeries,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from taydo.core.runtime import runtime_of
    from taydo.observations.service import ObservationWriter

    series_of("CT-1", {"height": (-5.0, 10.0)})
    writer = runtime_of(client.app).get(ObservationWriter)  # type: ignore[arg-type]

    def broken(taken: object) -> None:
        raise RuntimeError("boom: a bug in the writer")

    monkeypatch.setattr(writer, "_write", broken)
    body = [{"entity_id": E1, "metric": "height", "ts": 1795748400000, "value": 1.0}]
    operator = headers_for("operator")
    for _attempt in range(2):  # the one that killed it, then one refused at once
        answer = client.post("/api/v1/observations", json=body, headers=operator)
        assert answer.status_code == 503, answer.text
        assert "writer" in answer.text
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["writer"]["ok"] is False
    assert ready.json()["checks"]["writer"]["state"] == "failed"
    assert "boom" not in ready.text  # the reason is in the log, not for anyone who asks

"""Pull connectors against real sources: a local HTTP server, SQLite and PostgreSQL agency
databases. Resume after restart from the watermark: no duplicates, no gaps."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from taydo.app import create_app
from taydo.catalog.series import SeriesIndex
from taydo.core.plugins import make_plugin_manager
from taydo.core.secrets import SecretBox
from taydo.ingest.connectors import service
from taydo.ingest.resolve import EntityResolver
from taydo.observations.service import write_rows
from tests.conftest import POSTGRES_URL
from tests.ingest.conftest import make_series

SECRET = "Bearer s3cr3t-token"
CLI_KEY = "a-deployment-key-for-the-cli-tests"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


class Feed:
    """What the agency's HTTP API serves right now."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.auth: list[str | None] = []


@pytest.fixture
def feed() -> Iterator[tuple[Feed, str]]:
    state = Feed()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.auth.append(self.headers.get("Authorization"))
            if self.headers.get("Authorization") != SECRET:
                self.send_response(401)
                self.end_headers()
                return
            body = json.dumps({"data": {"items": state.items}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/api/mucnuoc"
    server.shutdown()
    server.server_close()


def _stored(database) -> list[tuple[int, float]]:  # type: ignore[no-untyped-def]
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT ts, value FROM observations ORDER BY ts"))
        return [(int(a), float(b)) for a, b in rows]


def _item(minute: int, value: float, station: str = "Trạm Cái Răng") -> dict[str, Any]:
    return {
        "station": station,
        "time": (T0 + timedelta(minutes=minute)).isoformat(),
        "reading": {"level": value},
    }


def _ms(minute: int) -> int:
    return int((T0 + timedelta(minutes=minute)).timestamp() * 1000)


HTTP_CONFIG = {
    "records": "data.items",
    "fields": {
        "entity": "station",
        "metric_name": "height",
        "ts": "time",
        "value": "reading.level",
    },
}


def _named(database, local: str, name: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    ids = make_series(database, local)
    with database.engine.begin() as connection:
        connection.execute(
            text("UPDATE entities SET name = :n WHERE entity_id = :e"),
            {"n": name, "e": f"urn:ngsi-ld:WaterObserved:{local}"},
        )
    return ids


def test_http_json_connector(settings, database, headers_for, feed) -> None:  # type: ignore[no-untyped-def]
    state, url = feed
    _named(database, "CR-01", "Trạm Cái Răng")
    admin = headers_for("admin")
    quiet = settings.model_copy(update={"connectors_enabled": False})
    body = {
        "name": "mucnuoc-http",
        "kind": "http_json",
        "agency": "SNNMT",
        "config": dict(HTTP_CONFIG, url=url),
        "secret": SECRET,
        "interval_s": 60,
    }
    with TestClient(create_app(quiet, database=database)) as client:
        created = client.post("/api/v1/connectors", headers=admin, json=body)
        assert created.status_code == 201, created.text
        assert SECRET not in created.text and created.json()["has_secret"] is True
        assert SECRET not in client.get("/api/v1/connectors/mucnuoc-http", headers=admin).text
        assert client.post("/api/v1/connectors", headers=admin, json=body).status_code == 409
        officer = headers_for("agency_officer", ["SNNMT"])
        assert client.get("/api/v1/connectors", headers=officer).status_code == 403

        state.items = [_item(0, 1.0), _item(10, 1.1), _item(20, 99.0), {"station": "x"}]
        run = client.post("/api/v1/connectors/mucnuoc-http/run", headers=admin).json()
        assert run["run"] == {"stored": 2, "rejected": 2, "error": None}
        assert run["watermark"] == (T0 + timedelta(minutes=20)).isoformat()
        assert state.auth[-1] == SECRET
        quarantined = client.get("/api/v1/quarantine?source=connector:mucnuoc-http", headers=admin)
        assert quarantined.json()["total"] == 2

    # restart: the feed still lists old items plus new ones; only the new are taken
    state.items = [_item(10, 1.1), _item(20, 99.0), _item(30, 1.3), _item(40, 1.4)]
    with TestClient(create_app(quiet, database=database)) as client:
        run = client.post("/api/v1/connectors/mucnuoc-http/run", headers=admin).json()
        assert run["run"]["stored"] == 2 and run["rows_ingested"] == 4
    assert _stored(database) == [(_ms(0), 1.0), (_ms(10), 1.1), (_ms(30), 1.3), (_ms(40), 1.4)]

    state.items = []
    with TestClient(create_app(quiet, database=database)) as client:
        broken = client.post(
            "/api/v1/connectors",
            headers=admin,
            json=dict(body, name="wrong-secret", secret="Bearer wrong"),
        )
        assert broken.status_code == 201
        failed = client.post("/api/v1/connectors/wrong-secret/run", headers=admin).json()
        assert "401" in failed["last_error"] and "wrong" not in failed["last_error"]


def test_connectors_run_on_schedule_in_the_server(settings, database, headers_for, feed) -> None:  # type: ignore[no-untyped-def]
    state, url = feed
    _named(database, "CR-02", "Trạm Cái Răng")
    state.items = [_item(0, 2.0)]
    service.create_connector(
        database,
        make_plugin_manager(),
        SecretBox(settings.secret_key.get_secret_value()),
        None,
        service.ConnectorIn(
            name="scheduled",
            kind="http_json",
            agency="SNNMT",
            config=dict(HTTP_CONFIG, url=url),
            secret=SECRET,
            interval_s=60,
        ),
    )
    with TestClient(create_app(settings, database=database)):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not _stored(database):
            time.sleep(0.1)
    assert _stored(database) == [(_ms(0), 2.0)]
    assert service.get_connector(database, "scheduled")["last_run_at"] is not None


@pytest.fixture(params=["sqlite", "postgres"])
def source_url(request, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """An agency database with a table of readings (a real SQLite file or PostgreSQL)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'agency.db'}"
        engine = create_engine(url)
        schema = None
    else:
        if not POSTGRES_URL:
            pytest.skip("TAYDO_TEST_POSTGRES_URL is not set")
        schema = f"agency_{uuid.uuid4().hex[:8]}"
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        separator = "&" if "?" in POSTGRES_URL else "?"
        url = f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
        engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE quan_trac (ma_tram VARCHAR(40), thoi_gian TIMESTAMP, "
                "muc_nuoc DOUBLE PRECISION)"
            )
        )
    engine.dispose()
    yield url
    if schema is not None:
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _insert(url: str, minutes: range, station: str = "NK-9") -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO quan_trac VALUES (:s, :t, :v)"),
            [
                {"s": station, "t": (T0 + timedelta(minutes=m)).replace(tzinfo=None), "v": m / 100}
                for m in minutes
            ],
        )
    engine.dispose()


def _run(database, name: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """One run as a freshly started IOC would do it (new index, new resolver)."""
    return service.run_connector(
        database,
        make_plugin_manager(),
        SecretBox(CLI_KEY),
        name,
        series=SeriesIndex(database),
        resolver=EntityResolver(database),
        store=lambda rows: write_rows(database, rows)[0].accepted,
    )


def test_sql_connector_resumes_without_gaps_or_duplicates(
    database, source_url, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    make_series(database, "NK-9")
    service.create_connector(
        database,
        make_plugin_manager(),
        SecretBox(CLI_KEY),
        None,
        service.ConnectorIn(
            name="so-tnmt-sql",
            kind="sql",
            agency="SNNMT",
            config={
                "query": "SELECT ma_tram, thoi_gian, muc_nuoc FROM quan_trac "
                "WHERE thoi_gian > :since ORDER BY thoi_gian",
                "columns": {
                    "entity": "ma_tram",
                    "metric_name": "height",
                    "ts": "thoi_gian",
                    "value": "muc_nuoc",
                },
            },
            secret=source_url,
            interval_s=60,
        ),
    )
    _insert(source_url, range(0, 30))
    monkeypatch.setenv("TAYDO_DATABASE_URL", database.url)
    monkeypatch.setenv("TAYDO_SECRET_KEY", CLI_KEY)
    from taydo.cli import app as cli

    first = CliRunner().invoke(cli, ["connector", "run", "so-tnmt-sql"])
    assert first.exit_code == 0, first.output
    assert "30" in first.output
    _insert(source_url, range(30, 45))
    # the watermark is lost as if the IOC crashed after committing: repeats are harmless
    status = _run(database, "so-tnmt-sql")
    assert status["run"]["stored"] == 15
    _insert(source_url, range(45, 50))
    with database.engine.begin() as connection:
        connection.execute(
            text("UPDATE ingest_connectors SET watermark = :w"),
            {"w": (T0 + timedelta(minutes=40)).replace(tzinfo=None).isoformat(sep=" ")},
        )
    again = _run(database, "so-tnmt-sql")
    assert again["run"]["stored"] == 5 and again["run"]["error"] is None
    assert _run(database, "so-tnmt-sql")["run"]["stored"] == 0
    assert [ts for ts, _ in _stored(database)] == [_ms(m) for m in range(50)]
    assert service.get_connector(database, "so-tnmt-sql")["rows_ingested"] == 50
    assert source_url.split("@")[-1] not in json.dumps(service.list_connectors(database))
    assert source_url not in str(_stored_secret(database, "so-tnmt-sql"))


def _stored_secret(database, name: str) -> str | None:  # type: ignore[no-untyped-def]
    with database.engine.connect() as connection:
        return connection.execute(
            text("SELECT secret FROM ingest_connectors WHERE name = :n"), {"n": name}
        ).scalar_one()


def test_secrets_are_sealed_at_rest_and_replaced_after_a_key_change(
    settings, database, headers_for, feed
) -> None:  # type: ignore[no-untyped-def]
    state, url = feed
    _named(database, "CR-03", "Trạm Cái Răng")
    admin = headers_for("admin")
    quiet = settings.model_copy(update={"connectors_enabled": False})
    body = {
        "name": "sealed",
        "kind": "http_json",
        "agency": "SNNMT",
        "config": dict(HTTP_CONFIG, url=url),
        "secret": SECRET,
        "interval_s": 60,
    }
    state.items = [_item(0, 3.0)]
    with TestClient(create_app(quiet, database=database)) as client:
        assert client.post("/api/v1/connectors", headers=admin, json=body).status_code == 201
        at_rest = _stored_secret(database, "sealed")
        assert at_rest is not None and at_rest.startswith("fernet1:")
        assert "s3cr3t" not in at_rest
        assert client.post("/api/v1/connectors/sealed/run", headers=admin).json()["run"] == {
            "stored": 1,
            "rejected": 0,
            "error": None,
        }

    # The deployment's key changes: the sealed secret cannot be opened, and the run says so.
    rekeyed = quiet.model_copy(update={"secret_key": SecretStr("a-new-deployment-key")})
    state.items = [_item(0, 3.0), _item(10, 3.1)]
    with TestClient(create_app(rekeyed, database=database)) as client:
        failed = client.post("/api/v1/connectors/sealed/run", headers=admin).json()
        assert "TAYDO_SECRET_KEY" in failed["last_error"] and failed["run"]["stored"] == 0
        assert "s3cr3t" not in failed["last_error"]
        officer = headers_for("agency_officer", ["SNNMT"])
        patch = {"secret": SECRET, "interval_s": 120}
        assert (
            client.patch("/api/v1/connectors/sealed", headers=officer, json=patch).status_code
            == 403
        )
        changed = client.patch("/api/v1/connectors/sealed", headers=admin, json=patch)
        assert changed.status_code == 200, changed.text
        assert SECRET not in changed.text
        assert changed.json()["interval_s"] == 120 and changed.json()["has_secret"] is True
        rerun = client.post("/api/v1/connectors/sealed/run", headers=admin).json()
        assert rerun["run"] == {"stored": 1, "rejected": 0, "error": None}
        assert state.auth[-1] == SECRET
        journal = client.get("/api/v1/audit?action=connector.update", headers=admin).json()
        assert [e["summary"]["changed"] for e in journal["items"]] == [["interval_s", "secret"]]
        assert SECRET not in json.dumps(journal)
        bad = client.patch(
            "/api/v1/connectors/sealed", headers=admin, json={"config": {"records": 5}}
        )
        assert bad.status_code == 422, bad.text

    # A secret tampered with in the database fails to open instead of being used.
    tampered = str(_stored_secret(database, "sealed"))
    flipped = tampered[:-5] + ("A" if tampered[-5] != "A" else "B") + tampered[-4:]
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE ingest_connectors SET secret = :s"), {"s": flipped})
    with TestClient(create_app(rekeyed, database=database)) as client:
        failed = client.post("/api/v1/connectors/sealed/run", headers=admin).json()
        assert "TAYDO_SECRET_KEY" in failed["last_error"]


def test_a_secret_stored_in_clear_by_an_earlier_version_is_sealed_at_start(
    settings, database, headers_for, feed
) -> None:  # type: ignore[no-untyped-def]
    state, url = feed
    _named(database, "CR-04", "Trạm Cái Răng")
    quiet = settings.model_copy(update={"connectors_enabled": False})
    box = SecretBox(settings.secret_key.get_secret_value())
    service.create_connector(
        database,
        make_plugin_manager(),
        box,
        None,
        service.ConnectorIn(
            name="legacy", kind="http_json", agency="SNNMT", config=dict(HTTP_CONFIG, url=url)
        ),
    )
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE ingest_connectors SET secret = :s"), {"s": SECRET})
    state.items = [_item(0, 4.0)]
    with TestClient(create_app(quiet, database=database)) as client:
        at_rest = str(_stored_secret(database, "legacy"))
        assert at_rest.startswith("fernet1:") and box.open(at_rest) == SECRET
        run = client.post("/api/v1/connectors/legacy/run", headers=headers_for("admin")).json()
        assert run["run"]["stored"] == 1 and state.auth[-1] == SECRET

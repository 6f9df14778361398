"""Shared fixtures: real databases (SQLite files always, PostgreSQL when configured).

Every test that takes ``database`` runs once per backend. PostgreSQL runs when
``TAYDO_TEST_POSTGRES_URL`` is set (``.ci/run`` sets it); otherwise those runs are skipped and
the end of the run says so plainly.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from taydo.app import create_app
from taydo.core.db import Base, Database
from taydo.core.migrate import upgrade
from taydo.core.plugins import domains, make_plugin_manager
from taydo.core.settings import Settings

# Every domain's tables on Base.metadata, so PostgreSQL truncation sees them all.
for _domain in domains(make_plugin_manager()):
    if importlib.util.find_spec(f"taydo.{_domain.name}.models") is not None:
        importlib.import_module(f"taydo.{_domain.name}.models")

# Property-based tests draw new random examples on every local run (that is how they find
# new failures); CI (`--hypothesis-profile=ci`, set by .ci/run) draws the same examples every
# time, so a change lands or not on its own merits, never on a lucky draw. A failure found
# locally is pinned with @example before it is fixed.
# No deadline in either: a 200 ms limit per example fails a correct test whenever the shared
# machine is busy, and timings are measured in benchmarks/, never asserted in tests.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
hypothesis_settings.register_profile("local", deadline=None)
if hypothesis_settings.get_current_profile_name() == "default":  # no --hypothesis-profile
    hypothesis_settings.load_profile("local")

POSTGRES_URL = os.environ.get("TAYDO_TEST_POSTGRES_URL", "")
_skipped_servers: set[str] = set()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for name in sorted(_skipped_servers):
        terminalreporter.write_line(f"SKIPPED SERVER TESTS: {name}", yellow=True, bold=True)


def skip_server(name: str, reason: str) -> None:
    _skipped_servers.add(f"{name} — {reason}")
    pytest.skip(f"{name}: {reason}")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per session; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    with database.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    """A fresh schema on the PostgreSQL server for this session, migrated once."""
    if not POSTGRES_URL:
        skip_server("PostgreSQL", "TAYDO_TEST_POSTGRES_URL is not set")
    schema = f"taydo_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    # synchronous_commit=off: commits stay atomic and visible; only the wait for the disk
    # flush is skipped, which this machine's slow fsync would otherwise add to every test.
    url = f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"
    database = Database(url)
    upgrade(database)
    database.dispose()
    try:
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _truncate_postgres(database: Database) -> None:
    with database.engine.begin() as connection:
        existing = {
            row[0]
            for row in connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            )
        }
        # DELETE beats TRUNCATE on tables this small (TRUNCATE rewrites files and syncs).
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in existing:
                connection.execute(table.delete())


# A test of something only PostgreSQL has gets the ``database`` fixture on PostgreSQL alone
# (no SQLite instance skipped at run time: a skip is only for a server that is missing).
POSTGRES_ONLY = pytest.mark.parametrize(
    "database", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "taydo.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("postgres_schema_url"))
        _truncate_postgres(database)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    # No background compaction: tests that look at the raw table must not race with it; the
    # compaction tests turn it on with their own settings.
    return Settings(  # type: ignore[call-arg]
        database_url=database.url, dev=True, observations_pack_after_hours=0, _env_file=None
    )


@pytest.fixture
def app(settings: Settings, database: Database):  # type: ignore[no-untyped-def]
    return create_app(settings, database=database)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def headers_for(database: Database) -> Callable[..., dict[str, str]]:
    """``headers_for("operator")`` or ``headers_for("agency_officer", ["STNMT"])``:
    creates a user with that role and returns bearer-token headers for it."""
    from taydo.auth.service import create_user, issue_token

    def make(role: str, agencies: list[str] | None = None) -> dict[str, str]:
        user = create_user(
            database, f"{role}-{uuid.uuid4().hex[:8]}", role, agencies=agencies or []
        )
        _row, token = issue_token(database, user.id, "test")
        return {"Authorization": f"Bearer {token}"}

    return make

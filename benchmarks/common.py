"""Helpers shared by the benchmarks: a fresh catalog, a token, a server in a subprocess."""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson

from taydo.catalog.models import Agency, Entity, Metric
from taydo.core import clock
from taydo.core.db import Database
from taydo.core.migrate import upgrade

# The same benchmark code runs against this tree and a baseline checkout (benchmarks/compare.py
# copies it there): a baseline from before the composition root (taydo.app) and the typed
# runtime kept its parts as loose ``app.state`` attributes.
T = TypeVar("T")

try:
    from taydo.app import create_app
except ImportError:  # a baseline tree from before taydo.app
    from taydo.core.app import create_app  # type: ignore[no-redef]  # noqa: F401 - re-exported


def running(app: Any, kind: type[T], legacy_name: str) -> T:
    """A part of a running app: from its typed runtime, or ``app.state.<legacy_name>``."""
    runtime = getattr(app.state, "runtime", None)
    if runtime is not None:
        return runtime.get(kind)  # type: ignore[no-any-return]
    return getattr(app.state, legacy_name)  # type: ignore[no-any-return]


def running_bus(app: Any) -> Any:
    runtime = getattr(app.state, "runtime", None)
    return runtime.bus if runtime is not None else app.state.bus


METRICS = ("height", "salinity", "pm25")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import sqlite3

    return (
        f"{os.cpu_count()} CPU ({cpu}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}, "
        f"load average at start {os.getloadavg()[0]:.1f}"
    )


JSON_HELP = (
    "also write the headline figures to this JSON file, for benchmarks/compare.py "
    "(default: $TAYDO_BENCH_JSON if set)"
)


def write_figures(
    path: str | Path | None, benchmark: str, figures: dict[str, tuple[float, str, str]]
) -> None:
    """The headline figures as JSON, for ``benchmarks/compare.py``: ``{"figures": {name:
    {"value", "unit", "better"}}}``, ``better`` being ``higher`` or ``lower``. Written to
    ``path`` (``--json``), else to ``$TAYDO_BENCH_JSON``, else nowhere. Also records which
    ``taydo`` package the benchmark imported, so a comparison can check it ran the tree it
    meant to."""
    path = path or os.environ.get("TAYDO_BENCH_JSON")
    if not path:
        return
    import taydo

    document = {
        "benchmark": benchmark,
        "taydo": taydo.__file__,
        "python": sys.executable,
        "figures": {
            name: {"value": value, "unit": unit, "better": better}
            for name, (value, unit, better) in figures.items()
        },
    }
    Path(path).write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))


def fresh_database(url: str) -> Database:
    database = Database(url)
    upgrade(database)
    return database


def make_catalog(
    database: Database, entities: int = 200, metrics: tuple[str, ...] = METRICS
) -> list[tuple[str, str, int]]:
    """``entities`` stations with METRICS each; returns (entity_id, metric, series_id)."""
    out: list[tuple[str, str, int]] = []
    with database.session() as session:
        agency = Agency(code="BENCH", name="Cơ quan đo thử", kind="so")
        session.add(agency)
        session.flush()
        for n in range(entities):
            entity = Entity(
                entity_id=f"urn:ngsi-ld:WaterObserved:B{n:04d}",
                type="WaterObserved",
                name=f"Trạm {n}",
                agency_id=agency.id,
                attributes={},
                tags=[],
                created_at=clock.now(),
                updated_at=clock.now(),
            )
            session.add(entity)
            session.flush()
            for name in metrics:
                metric = Metric(
                    entity_pk=entity.id, name=name, unit="X", min_valid=-1e6, max_valid=1e6
                )
                session.add(metric)
                session.flush()
                out.append((entity.entity_id, name, metric.id))
    return out


def operator_token(database: Database) -> str:
    from taydo.auth.service import create_user, issue_token

    user = create_user(database, "bench-operator", "operator")
    return issue_token(database, user.id, "bench")[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """``taydo serve`` on a database URL, in its own process."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "TAYDO_DATABASE_URL": database_url, "TAYDO_PORT": str(self.port)}
        taydo = Path(sys.executable).with_name("taydo")
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [str(taydo), "serve", "--dev"], env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.url = f"http://127.0.0.1:{self.port}"
        # A loaded machine (other sessions running) can take minutes to import and start.
        deadline = time.monotonic() + float(os.environ.get("TAYDO_BENCH_START_S", "240"))
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/openapi.json", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not start; see {log}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


@contextlib.contextmanager
def bench_schema(postgres_url: str | None, name: str) -> Iterator[str | None]:
    """A PostgreSQL URL on a schema of its own (created now, dropped after), so a benchmark
    neither meets an earlier run's rows nor leaves its own in the shared database; None (for
    SQLite) passes through."""
    if not postgres_url:
        yield None
        return
    from sqlalchemy import create_engine, text

    schema = f"taydo_bench_{name}_{os.getpid()}"
    admin = create_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in postgres_url else "?"
    try:
        yield f"{postgres_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

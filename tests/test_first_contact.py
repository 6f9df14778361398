"""What a new user meets first, tried as they would try it: the `taydo` program in a
subprocess, in an empty folder, with no TAYDO_* setting but the ones a test names.

A wrong database URL, a database that is not there and a taken port each give one line that
says what to do (no traceback), and a read command leaves no file behind.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import POSTGRES_URL, skip_server
from tests.serving import free_port

STRONG_KEY = "k" * 32  # exactly the shortest key `taydo serve` accepts


def taydo(folder: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAYDO_")}
    env.update({f"TAYDO_{name.upper()}": value for name, value in settings.items()})
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "taydo.cli", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The answer of a refused command: status 2 and a single line, no traceback."""
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 2, output
    assert "Traceback" not in output
    assert len(output.splitlines()) == 1, output
    return output


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    folder = tmp_path / "fresh"
    folder.mkdir()
    return folder


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def test_a_read_command_in_an_empty_folder_says_what_to_do_and_creates_nothing(
    empty: Path,
) -> None:
    line = one_line(taydo(empty, "user", "list"))
    assert "TAYDO_DATABASE_URL" in line and "`taydo db upgrade`" in line
    assert "taydo.db does not exist" in line
    assert list(empty.iterdir()) == []  # no empty taydo.db left behind


def _unused_database_url() -> str:
    if not POSTGRES_URL:
        skip_server("PostgreSQL", "TAYDO_TEST_POSTGRES_URL is not set")
    base, _, _name = POSTGRES_URL.rpartition("/")
    return f"{base}/taydo_no_such_database"


WRONG_URLS = {
    # what a user copies from another tool: SQLAlchemy knows no "postgres" dialect
    "postgres-scheme": lambda: "postgres://ioc:s3cret-pw@127.0.0.1:5432/taydo",
    "unreachable-port": lambda: f"postgresql+psycopg://ioc:s3cret-pw@127.0.0.1:{free_port()}/x",
    "missing-database": _unused_database_url,
    "sqlite-in-a-missing-folder": lambda: "sqlite:////nonexistent-folder/taydo.db",
    "not-a-url": lambda: "taydo.db",
}


CASES = [
    *((case, ("user", "list")) for case in sorted(WRONG_URLS)),
    # the command that creates a schema meets the same faults the same way
    *((case, ("db", "upgrade")) for case in ("unreachable-port", "sqlite-in-a-missing-folder")),
]


@pytest.mark.parametrize(("case", "command"), CASES, ids=[f"{c}-{' '.join(a)}" for c, a in CASES])
def test_a_wrong_database_url_is_one_line_naming_the_setting(
    empty: Path, case: str, command: tuple[str, ...]
) -> None:
    url = WRONG_URLS[case]()
    line = one_line(taydo(empty, *command, database_url=url))
    assert "TAYDO_DATABASE_URL" in line and "`taydo db upgrade`" in line
    assert "s3cret-pw" not in line  # the URL is shown without its password
    assert list(empty.iterdir()) == []


def test_a_database_without_the_schema_says_to_upgrade(empty: Path) -> None:
    (empty / "taydo.db").touch()
    line = one_line(taydo(empty, "user", "list"))
    assert "has no Tây Đô tables" in line and "`taydo db upgrade`" in line
    upgraded = taydo(empty, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    listed = taydo(empty, "user", "list")
    assert listed.returncode == 0, listed.stderr


def test_serve_checks_the_port_before_starting_anything(empty: Path, taken_port: int) -> None:
    result = taydo(empty, "serve", "--port", str(taken_port), secret_key=STRONG_KEY)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert f"127.0.0.1:{taken_port} is in use" in output and "--port" in output
    assert "Traceback" not in output
    assert list(empty.iterdir()) == []  # refused before the schema, the app and uvicorn


def serve_in_process(folder: Path, *args: str, key: str) -> tuple[int, str]:
    """``taydo serve`` in this process (its refusals come before anything starts)."""
    from taydo.cli import app

    env = {"TAYDO_SECRET_KEY": key, "TAYDO_DATABASE_URL": f"sqlite:///{folder / 'taydo.db'}"}
    result = CliRunner().invoke(app, ["serve", *args], env={**env, "COLUMNS": "200"})
    return result.exit_code, result.output


@pytest.mark.parametrize("key", ["abc", "k" * 31, "change-me-taydo-default-secret"])
def test_serve_refuses_a_short_or_default_secret_key(empty: Path, key: str) -> None:
    status, output = serve_in_process(empty, "--port", str(free_port()), key=key)
    assert status == 2, output
    assert "TAYDO_SECRET_KEY" in output and "--dev" in output
    assert key not in output.replace("TAYDO_SECRET_KEY", "")  # never echoed
    assert list(empty.iterdir()) == []


@pytest.mark.parametrize(("key", "dev"), [(STRONG_KEY, False), ("abc", True)])
def test_a_long_enough_key_or_dev_mode_passes_the_key_check(
    empty: Path, taken_port: int, key: str, dev: bool
) -> None:
    # The taken port stops the server right after the key check, so nothing is served.
    status, output = serve_in_process(
        empty, "--port", str(taken_port), *(["--dev"] if dev else []), key=key
    )
    assert status == 2 and "is in use" in output, output
    assert "TAYDO_SECRET_KEY" not in output


def test_the_demo_says_when_the_folder_of_its_database_is_missing(tmp_path: Path) -> None:
    from taydo.cli import app

    missing = tmp_path / "no-such-folder" / "demo.db"
    result = CliRunner().invoke(app, ["demo", "--db", str(missing), "--port", str(free_port())])
    assert result.exit_code == 2, result.output
    assert "no-such-folder" in result.output and "Traceback" not in result.output
    assert not missing.parent.exists()


@pytest.mark.parametrize(
    "command", [["rules", "validate"], ["rules", "load"], ["import", "observations"]], ids=" ".join
)
def test_a_missing_input_file_is_named_not_a_traceback(tmp_path: Path, command: list[str]) -> None:
    from taydo.cli import app

    missing = str(tmp_path / "nope.yaml")
    result = CliRunner().invoke(app, [*command, missing], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert "nope.yaml" in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a FileNotFoundError

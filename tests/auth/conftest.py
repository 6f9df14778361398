"""Helpers for the auth tests: accounts with known passwords and a CLI runner."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner

from taydo.auth.service import create_user
from taydo.core.db import Database

PASSWORD = "Mật-khẩu-đủ-dài-42"


@pytest.fixture(autouse=True)
def quick_argon2(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id with small parameters: the production profile (64 MiB, 3 passes) costs
    ~0.5 s per hash on a 2-core runner and these tests hash a lot. Tests marked
    ``production_argon2`` keep the real profile."""
    if request.node.get_closest_marker("production_argon2") is None:
        cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        monkeypatch.setattr("taydo.auth.passwords._hasher", cheap)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "production_argon2: hash with the production profile")


@pytest.fixture
def make_user(database: Database) -> Callable[..., str]:
    """``make_user("operator")`` creates an account with PASSWORD; returns its username."""

    def make(role: str = "operator", agencies: list[str] | None = None, name: str = "") -> str:
        username = name or f"{role}-{uuid.uuid4().hex[:6]}"
        create_user(database, username, role, agencies=agencies or [], password=PASSWORD)
        return username

    return make


@pytest.fixture
def cli(database: Database) -> Callable[..., object]:
    """Run ``taydo …`` against the test database; returns the click Result."""
    from taydo.cli import app

    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> object:
        return runner.invoke(
            app,
            list(args),
            input=input,
            env={
                "TAYDO_DATABASE_URL": database.url,
                "TAYDO_CONFIG_FILE": "/nonexistent.toml",
                "COLUMNS": "200",
            },
            catch_exceptions=False,
        )

    return run


def login(client, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def login_form_token(client) -> str:  # type: ignore[no-untyped-def]
    """The pre-session CSRF token of a fresh login form (its cookie stays in ``client``)."""
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert found is not None, "the login form carries no CSRF token"
    return found.group(1)


def form_login(client, username: str, password: str = PASSWORD, next: str = "/", **kwargs):  # type: ignore[no-untyped-def]
    """Log in through the console's form, as a browser does (form first, then POST)."""
    data = {
        "username": username,
        "password": password,
        "next": next,
        "csrf_token": login_form_token(client),
    }
    return client.post("/login", data=data, **kwargs)

"""Passwords, tokens and session ids never reach logs, the audit journal or API answers
(except the one answer that creates a token)."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from taydo.auth.sessions import COOKIE_NAME
from taydo.core.db import Database


def test_secrets_stay_secret(
    client: TestClient,
    database: Database,
    headers_for,  # type: ignore[no-untyped-def]
    cli,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Every logger, SQLAlchemy's statements and their parameters included (SQLAlchemy sets
    # its own loggers to WARNING, so they are opened up by name).
    for name in ("", "sqlalchemy", "taydo", "uvicorn", "httpx", "fastapi"):
        caplog.set_level(logging.DEBUG, logger=name)
    admin = headers_for("admin")
    first, second, third = "Bí-mật-thứ-nhất-111", "Bí-mật-thứ-hai-222", "Bí-mật-thứ-ba-333"
    answers = []

    answers.append(
        client.post(
            "/api/v1/users",
            json={"username": "bao-mat", "role": "operator", "password": first},
            headers=admin,
        )
    )
    answers.append(
        client.post("/api/v1/auth/login", json={"username": "bao-mat", "password": "sai-" + first})
    )
    logged_in = client.post("/api/v1/auth/login", json={"username": "bao-mat", "password": first})
    session_id = client.cookies[COOKIE_NAME]
    csrf = logged_in.json()["csrf_token"]
    answers.append(client.get("/api/v1/auth/me"))
    answers.append(
        client.post(
            "/api/v1/auth/password",
            json={"current_password": first, "new_password": second},
            headers={"X-CSRF-Token": csrf},
        )
    )
    answers.append(
        client.put("/api/v1/users/bao-mat/password", json={"password": third}, headers=admin)
    )
    created = client.post(
        "/api/v1/tokens", json={"username": "bao-mat", "name": "máy"}, headers=admin
    )
    api_token = created.json()["token"]
    answers.append(client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {api_token}"}))
    answers.append(client.get("/api/v1/tokens", headers=admin))
    answers.append(client.delete(f"/api/v1/tokens/{created.json()['id']}", headers=admin))
    answers.append(client.get("/api/v1/users", headers=admin))
    answers.append(client.get("/api/v1/audit", headers=admin, params={"limit": 1000}))
    cli_created = cli("token", "create", "--user", "bao-mat", "--name", "cli")
    cli_token = cli_created.stdout.strip()
    assert cli_token.startswith("tdk_")
    answers.append(client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}))
    assert all(a.status_code < 400 for a in answers[2:]), [a.text for a in answers]

    secrets = {
        "password 1": first,
        "password 2": second,
        "password 3": third,
        "api token": api_token,
        "cli token": cli_token,
        "session id": session_id,
        "csrf token": csrf,
    }
    assert "$argon2id$" in caplog.text  # SQL parameters were logged: the test can see leaks
    with database.engine.connect() as connection:
        journal_dump = str(connection.execute(text("SELECT * FROM audit_journal")).all())
    assert "token.issue" in journal_dump and "auth.login_failed" in journal_dump
    for what, secret in secrets.items():
        assert secret not in caplog.text, f"{what} was logged"
        assert secret not in journal_dump, f"{what} is in the audit journal"
        for answer in answers:
            assert secret not in answer.text, f"{what} in the answer to {answer.request.url}"
            assert secret not in str(answer.headers), f"{what} in headers of {answer.request.url}"
    # Only the token's own creation answer shows it.
    assert api_token in created.text

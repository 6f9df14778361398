"""Every route × every kind of caller gets the answer class its declaration promises.

The routes come from the app itself (``app.routes`` and ``route_permission``), so routes that
other domains add are checked without touching this file. Requests go over real HTTP to a
real uvicorn server, so streaming routes (Server-Sent Events) are checked too: only the
status line is read.

Expected, for a route declaring ``requires(p)``:
- anonymous → 401;
- a role without ``p`` → 403;
- a role with ``p`` → neither 401 nor 403 (the dummy request may well get 404 or 422);
- an agency officer of another agency with ``p`` → not 401 (403 is right for a foreign
  agency's object).
A ``public()`` route answers everyone without 401/403. No answer may be a 5xx.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from taydo.auth.service import create_user, issue_token
from taydo.core.access import GRANTS, api_routes
from taydo.core.db import Database
from tests.serving import serve_in_thread

DUMMY = "999999"  # fits int and str path parameters; matches no real object
CALLERS: dict[str, tuple[str | None, list[str]]] = {
    "anonymous": (None, []),
    "admin": ("admin", []),
    "leader": ("leader", []),
    "operator": ("operator", []),
    "agency_officer": ("agency_officer", ["SNNMT"]),
    "officer_of_another_agency": ("agency_officer", ["KHAC-AGENCY"]),
    "viewer": ("viewer", []),
}


@pytest.fixture
def server(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on a free local port; yields its base URL."""
    with serve_in_thread(app) as base:
        yield base


def _headers(database: Database) -> dict[str, dict[str, str]]:
    headers: dict[str, dict[str, str]] = {}
    for caller, (role, agencies) in CALLERS.items():
        if role is None:
            headers[caller] = {}
            continue
        user = create_user(database, f"{caller}-{uuid.uuid4().hex[:6]}", role, agencies=agencies)
        _row, token = issue_token(database, user.id, "matrix")
        headers[caller] = {"Authorization": f"Bearer {token}"}
    return headers


def _expected(permission: str, caller: str) -> str:
    if permission == "public":
        return "answer"
    if caller == "anonymous":
        return "401"
    role = CALLERS[caller][0]
    assert role is not None
    if permission not in GRANTS[role]:
        return "403"
    return "not 401" if caller == "officer_of_another_agency" else "answer"


def _matches(expected: str, status: int) -> bool:
    if status >= 500:
        return False
    if expected == "401":
        return status == 401
    if expected == "403":
        return status == 403
    if expected == "not 401":
        return status != 401
    return status not in (401, 403)


def _routes(app: FastAPI) -> list[tuple[str, str, str]]:
    found = []
    for route in api_routes(app):
        assert route.permission is not None, f"{route.path} declares no permission"
        path = re.sub(r"\{[^}]+\}", DUMMY, route.path)
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path, route.permission))
    return found


def test_every_route_answers_every_caller_as_declared(
    app: FastAPI, server: str, database: Database
) -> None:
    routes = _routes(app)
    assert ("GET", "/api/v1/audit", "audit:read") in routes  # the walk sees real routes
    headers = _headers(database)
    wrong: list[str] = []
    with httpx.Client(base_url=server, timeout=20, follow_redirects=False) as client:
        for method, path, permission in routes:
            for caller, caller_headers in headers.items():
                client.cookies.clear()
                body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
                with client.stream(method, path, headers=caller_headers, **body) as answer:
                    status = answer.status_code
                expected = _expected(permission, caller)
                if not _matches(expected, status):
                    wrong.append(
                        f"{method} {path} [{permission}] as {caller}: {status}, expected {expected}"
                    )
    assert wrong == [], "\n".join(wrong)


def test_unauthenticated_writes_get_401(app: FastAPI, server: str) -> None:
    writes = [(m, p) for m, p, perm in _routes(app) if perm != "public" and m != "GET"]
    assert writes  # there are write routes to check
    with httpx.Client(base_url=server, timeout=20) as client:
        for method, path in writes:
            answer = client.request(method, path, json={"anything": 1})
            assert answer.status_code == 401, f"{method} {path}: {answer.status_code}"
            assert answer.headers["www-authenticate"] == "Bearer"

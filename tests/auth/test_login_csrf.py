"""Login CSRF: a page on another site cannot log the visitor's browser in (issue 18, item 8)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from taydo.auth.login_csrf import LOGIN_COOKIE
from taydo.auth.models import UserSession
from taydo.auth.sessions import COOKIE_NAME
from taydo.core.db import Database
from tests.auth.conftest import PASSWORD, form_login, login_form_token


def _sessions(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(UserSession)) or 0)


def test_a_form_posted_from_another_site_does_not_log_the_browser_in(
    client: TestClient, database: Database, make_user
) -> None:  # type: ignore[no-untyped-def]
    name = make_user("operator")
    # What an attacker's page makes the victim's browser send: the attacker's own account,
    # no token (it cannot read the victim's login cookie), Origin of the attacker's site.
    forged = client.post(
        "/login",
        data={"username": name, "password": PASSWORD, "next": "/"},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert forged.status_code == 400
    assert COOKIE_NAME not in forged.cookies and COOKIE_NAME not in client.cookies
    assert "Biểu mẫu đăng nhập đã hết hạn" in forged.text
    assert _sessions(database) == 0


def test_a_token_is_refused_from_another_origin_and_without_its_cookie(
    client: TestClient, database: Database, make_user
) -> None:  # type: ignore[no-untyped-def]
    name = make_user("operator")
    token = login_form_token(client)
    data = {"username": name, "password": PASSWORD, "next": "/", "csrf_token": token}
    # Even with a valid token (the attacker's own, from their own visit), another Origin …
    for origin in ("https://evil.example", "null"):
        answer = client.post(
            "/login", data=data, headers={"Origin": origin}, follow_redirects=False
        )
        assert answer.status_code == 400, origin
    # … or a Referer of another site, is refused.
    answer = client.post(
        "/login",
        data=data,
        headers={"Referer": "https://evil.example/page"},
        follow_redirects=False,
    )
    assert answer.status_code == 400
    # A token whose cookie the browser does not hold (the victim's browser) is refused too.
    client.cookies.delete(LOGIN_COOKIE, path="/login")
    answer = client.post("/login", data=data, follow_redirects=False)
    assert answer.status_code == 400
    assert _sessions(database) == 0


def test_the_real_form_logs_in_from_its_own_origin(
    client: TestClient, database: Database, make_user
) -> None:  # type: ignore[no-untyped-def]
    name = make_user("operator")
    form = client.get("/login")
    cookie = form.headers["set-cookie"].lower()
    assert cookie.startswith(f"{LOGIN_COOKIE}=")
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/login" in cookie
    answer = form_login(
        client, name, headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    assert client.cookies.get(COOKIE_NAME)
    assert _sessions(database) == 1


def test_the_json_login_refuses_another_origin(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    name = make_user("operator")
    body = {"username": name, "password": PASSWORD}
    forged = client.post(
        "/api/v1/auth/login", json=body, headers={"Origin": "https://evil.example"}
    )
    assert forged.status_code == 403 and forged.json()["error"]
    assert COOKIE_NAME not in client.cookies
    # Scripts send no Origin; a browser on the console's own origin sends its own.
    assert client.post("/api/v1/auth/login", json=body).status_code == 200
    own = client.post("/api/v1/auth/login", json=body, headers={"Origin": "http://testserver"})
    assert own.status_code == 200

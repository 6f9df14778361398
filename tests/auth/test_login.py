"""Console login: sessions in cookies, expiry, logout, CSRF, throttling."""

from __future__ import annotations

import hashlib

import pytest
from fastapi import File, Form, UploadFile
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from taydo.app import create_app
from taydo.auth import journal, service
from taydo.auth.models import UserSession
from taydo.auth.sessions import COOKIE_NAME, THROTTLE_MAX_FAILURES
from taydo.core.access import requires
from taydo.core.db import Database
from taydo.core.settings import Settings
from tests.auth.conftest import PASSWORD, login


def test_login_sets_a_protected_session_cookie(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    name = make_user("leader")
    answer = login(client, name)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["username"] == name and body["role"] == "leader" and body["csrf_token"]
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    flags = cookie.lower()
    assert "httponly" in flags and "samesite=lax" in flags and "secure" not in flags
    assert "max-age=43200" in flags  # 12 hours, the default session_hours

    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["via"] == "session" and "alerts:read" in me.json()["permissions"]


def test_cookie_is_secure_when_configured(database: Database, make_user) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=database.url, dev=True, cookie_secure=True, session_hours=2, _env_file=None
    )  # type: ignore[call-arg]
    name = make_user("viewer")
    with TestClient(create_app(settings, database=database)) as client:
        answer = login(client, name)
    flags = answer.headers["set-cookie"].lower()
    assert "; secure" in flags and "max-age=7200" in flags
    assert "strict-transport-security" in answer.headers


def test_only_a_hash_of_the_session_id_is_stored(
    client: TestClient, database: Database, make_user
) -> None:  # type: ignore[no-untyped-def]
    login(client, make_user())
    session_id = client.cookies[COOKIE_NAME]
    with database.session() as session:
        stored = session.scalars(select(UserSession.id_hash)).all()
    assert stored == [hashlib.sha256(session_id.encode()).hexdigest()]
    with database.engine.connect() as connection:
        dump = str(connection.execute(text("SELECT * FROM auth_sessions")).all())
    assert session_id not in dump


def test_wrong_password_unknown_user_and_disabled_user_get_the_same_401(
    client: TestClient,
    database: Database,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    name = make_user()
    disabled = make_user()
    service.set_disabled(database, disabled)
    answers = [
        login(client, name, "wrong password!"),
        login(client, "nobody-here", PASSWORD),
        login(client, disabled, PASSWORD),
    ]
    assert {a.status_code for a in answers} == {401}
    assert len({a.json()["error"] for a in answers}) == 1
    assert COOKIE_NAME not in client.cookies


def test_logout_ends_the_session(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    csrf = login(client, make_user()).json()["csrf_token"]
    stolen = client.cookies[COOKIE_NAME]
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401
    client.cookies.set(COOKIE_NAME, stolen)  # a copy of the old cookie is worthless now
    assert client.get("/api/v1/auth/me").status_code == 401


def test_an_expired_session_is_refused(client: TestClient, database: Database, make_user) -> None:  # type: ignore[no-untyped-def]
    login(client, make_user())
    assert client.get("/api/v1/auth/me").status_code == 200
    with database.session() as session:
        session.execute(update(UserSession).values(expires_at=UserSession.created_at))
    assert client.get("/api/v1/auth/me").status_code == 401


def test_disabling_a_user_ends_their_session(
    client: TestClient, database: Database, make_user
) -> None:  # type: ignore[no-untyped-def]
    name = make_user()
    login(client, name)
    service.set_disabled(database, name)
    assert client.get("/api/v1/auth/me").status_code == 401


def test_state_changes_by_cookie_need_the_csrf_token(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    admin = make_user("admin")
    csrf = login(client, admin).json()["csrf_token"]
    new_user = {"username": "csrf-victim", "role": "viewer", "password": PASSWORD}

    assert client.post("/api/v1/users", json=new_user).status_code == 403
    assert (
        client.post("/api/v1/users", json=new_user, headers={"X-CSRF-Token": "0" * 64}).status_code
        == 403
    )
    assert "CSRF" in client.post("/api/v1/users", json=new_user).json()["error"]
    # Reading needs no token.
    assert client.get("/api/v1/users").status_code == 200
    ok = client.post("/api/v1/users", json=new_user, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201, ok.text


def test_the_csrf_token_of_another_session_does_not_work(app, make_user) -> None:  # type: ignore[no-untyped-def]
    admin = make_user("admin")
    with TestClient(app) as first, TestClient(app) as second:
        login(first, admin)
        other_csrf = login(second, admin).json()["csrf_token"]
        answer = first.post(
            "/api/v1/users",
            json={"username": "x-user", "role": "viewer"},
            headers={"X-CSRF-Token": other_csrf},
        )
    assert answer.status_code == 403


def test_html_forms_send_the_token_as_a_field(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    csrf = login(client, make_user()).json()["csrf_token"]
    refused = client.post("/api/v1/auth/logout", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert client.get("/api/v1/auth/me").status_code == 200
    accepted = client.post("/api/v1/auth/logout", data={"csrf_token": csrf, "other": "Cần Thơ"})
    assert accepted.status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401


def test_bearer_token_requests_need_no_csrf(client: TestClient, headers_for) -> None:  # type: ignore[no-untyped-def]
    answer = client.post(
        "/api/v1/users",
        json={"username": "by-token", "role": "viewer"},
        headers=headers_for("admin"),
    )
    assert answer.status_code == 201


def test_repeated_failures_are_throttled_with_retry_after(
    app,
    database: Database,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    name = make_user()
    with TestClient(app, client=("203.0.113.5", 4000)) as client:
        for _ in range(THROTTLE_MAX_FAILURES):
            assert login(client, name, "wrong password!").status_code == 401
        blocked = login(client, name, PASSWORD)  # even the right password waits
        assert blocked.status_code == 429
        assert 1 <= int(blocked.headers["Retry-After"]) <= 60
        assert COOKIE_NAME not in client.cookies
    # Another address is not blocked by this one's failures.
    with TestClient(app, client=("203.0.113.6", 4000)) as client:
        assert login(client, name).status_code == 200
    # A second server process (own app, own engine) on the same database sees the count.
    other = Database(database.url)
    try:
        settings = Settings(database_url=database.url, dev=True, _env_file=None)  # type: ignore[call-arg]
        with TestClient(create_app(settings, database=other), client=("203.0.113.5", 1)) as c:
            assert login(c, name).status_code == 429
    finally:
        other.dispose()


def test_logins_failures_and_logouts_are_journaled(
    client: TestClient, database: Database, make_user
) -> None:  # type: ignore[no-untyped-def]
    name = make_user()
    login(client, name, "wrong password!")
    csrf = login(client, name).json()["csrf_token"]
    client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    actions = [e["action"] for e in journal.timeline(database, "user", name)]
    assert actions == ["user.create", "auth.login_failed", "auth.login", "auth.logout"]
    failed = journal.query(database, action="auth.login_failed").items[0]
    assert failed["address"] == "testclient"
    assert journal.verify(database).ok


def test_users_change_their_own_password(client: TestClient, database: Database, make_user) -> None:  # type: ignore[no-untyped-def]
    name = make_user()
    csrf = login(client, name).json()["csrf_token"]
    headers = {"X-CSRF-Token": csrf}
    wrong = {"current_password": "not it at all", "new_password": "một mật khẩu mới 123"}
    assert client.post("/api/v1/auth/password", json=wrong, headers=headers).status_code == 401
    short = {"current_password": PASSWORD, "new_password": "short"}
    assert client.post("/api/v1/auth/password", json=short, headers=headers).status_code == 422
    good = {"current_password": PASSWORD, "new_password": "một mật khẩu mới 123"}
    assert client.post("/api/v1/auth/password", json=good, headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 200  # this session goes on
    assert login(client, name).status_code == 401
    assert login(client, name, "một mật khẩu mới 123").status_code == 200


def test_login_accepts_only_json_so_other_sites_cannot_post_it(
    client: TestClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    name = make_user()
    as_form = client.post("/api/v1/auth/login", data={"username": name, "password": PASSWORD})
    assert as_form.status_code == 422
    as_text = client.post(
        "/api/v1/auth/login",
        content=f'{{"username": "{name}", "password": "{PASSWORD}"}}'.encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert as_text.status_code == 422
    assert COOKIE_NAME not in client.cookies


def test_a_form_checked_for_csrf_still_reaches_its_route_intact(
    app,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    self_ = requires("account:self")

    @app.post("/api/v1/test-form-echo")
    async def echo(
        name: str = Form(...),
        upload: UploadFile | None = File(None),  # noqa: B008
        _caller=self_,  # type: ignore[no-untyped-def]
    ) -> dict[str, object]:
        content = (await upload.read()).decode() if upload else None
        return {"name": name, "file": content}

    with TestClient(app) as client:
        csrf = login(client, make_user()).json()["csrf_token"]
        plain = client.post("/api/v1/test-form-echo", data={"name": "Cần Thơ", "csrf_token": csrf})
        assert plain.json() == {"name": "Cần Thơ", "file": None}
        multipart = client.post(
            "/api/v1/test-form-echo",
            data={"name": "Ninh Kiều", "csrf_token": csrf},
            files={"upload": ("a.csv", "ts,value\n1,2.5\n", "text/csv")},
        )
        assert multipart.json() == {"name": "Ninh Kiều", "file": "ts,value\n1,2.5\n"}
        forged = client.post(
            "/api/v1/test-form-echo",
            data={"name": "x", "csrf_token": "forged"},
            files={"upload": ("a.csv", "x", "text/csv")},
        )
        assert forged.status_code == 403


@pytest.mark.production_argon2
def test_weaker_stored_hashes_are_upgraded_at_login(client: TestClient, database: Database) -> None:
    from argon2 import PasswordHasher

    from taydo.auth.service import create_user, get_user

    legacy = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("cũ")
    create_user(database, "tai-khoan-cu", "viewer", password_hash=legacy)
    assert login(client, "tai-khoan-cu", "cũ").status_code == 200  # short, set before the rule
    upgraded = get_user(database, "tai-khoan-cu").password_hash or ""
    assert upgraded != legacy and "m=65536,t=3,p=4" in upgraded
    client.cookies.clear()
    assert login(client, "tai-khoan-cu", "cũ").status_code == 200

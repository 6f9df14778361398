"""Users and tokens through the API and the CLI; demo accounts; `taydo serve` refusals."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update

from taydo.auth import journal, service
from taydo.auth.models import ApiToken, User
from taydo.core.db import Database
from tests.auth.conftest import PASSWORD, login
from tests.serving import free_port


def test_admin_manages_users_over_the_api(
    client: TestClient, database: Database, headers_for
) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    created = client.post(
        "/api/v1/users",
        json={
            "username": "can-bo-snnmt",
            "role": "agency_officer",
            "agencies": ["SNNMT"],
            "full_name": "Nguyễn Văn Ân",
            "password": PASSWORD,
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert PASSWORD not in created.text and "argon2" not in created.text
    listed = client.get("/api/v1/users", headers=admin).json()
    officer = next(u for u in listed if u["username"] == "can-bo-snnmt")
    assert officer["agencies"] == ["SNNMT"] and officer["full_name"] == "Nguyễn Văn Ân"
    assert all("password_hash" not in user for user in listed)

    changed = client.patch(
        "/api/v1/users/can-bo-snnmt", json={"role": "operator", "agencies": []}, headers=admin
    )
    assert changed.json()["role"] == "operator"
    assert client.patch(
        "/api/v1/users/can-bo-snnmt", json={"disabled": True}, headers=admin
    ).json()["disabled"]
    actions = [e["action"] for e in journal.timeline(database, "user", "can-bo-snnmt")]
    assert actions == ["user.create", "user.set_role", "user.disable"]
    role_change = journal.timeline(database, "user", "can-bo-snnmt")[1]["summary"]
    assert role_change["before"]["role"] == "agency_officer"
    assert role_change["after"]["role"] == "operator"


def test_bad_account_input_gets_a_clear_4xx(client: TestClient, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    cases = [
        {"username": "x1", "role": "emperor"},
        {"username": "x2", "role": "agency_officer"},  # needs an agency
        {"username": "x3", "role": "viewer", "password": "short"},
    ]
    for body in cases:
        answer = client.post("/api/v1/users", json=body, headers=admin)
        assert answer.status_code == 422 and answer.json()["error"], body
    client.post("/api/v1/users", json={"username": "twice", "role": "viewer"}, headers=admin)
    again = client.post(
        "/api/v1/users", json={"username": "twice", "role": "viewer"}, headers=admin
    )
    assert again.status_code == 409
    assert (
        client.patch("/api/v1/users/nobody", json={"disabled": True}, headers=admin).status_code
        == 404
    )


def test_the_last_enabled_admin_cannot_be_removed(database: Database, make_user) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from taydo.core.errors import Conflict

    only = make_user("admin")
    with pytest.raises(Conflict):
        service.set_disabled(database, only)
    with pytest.raises(Conflict):
        service.set_role(database, only, "viewer")
    second = make_user("admin")
    service.set_role(database, only, "viewer")  # fine: another admin remains
    with pytest.raises(Conflict):
        service.set_disabled(database, second)


def test_tokens_are_shown_once_listed_by_prefix_and_revocable(
    client: TestClient,
    database: Database,
    headers_for,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    admin = headers_for("admin")
    owner = make_user("agency_officer", ["SNNMT"])
    created = client.post(
        "/api/v1/tokens",
        json={"username": owner, "name": "cổng MQTT", "expires_in_days": 30},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert created.json()["role"] == "agency_officer" and created.json()["agencies"] == ["SNNMT"]
    assert token.startswith(created.json()["prefix"])

    listed = client.get("/api/v1/tokens", params={"username": owner}, headers=admin)
    assert token not in listed.text and "token_hash" not in listed.text
    assert [t["name"] for t in listed.json()] == ["cổng MQTT"]

    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json() == {
        "username": owner,
        "role": "agency_officer",
        "agencies": ["SNNMT"],
        "via": "token",
        "permissions": me.json()["permissions"],
    }
    revoked = client.delete(f"/api/v1/tokens/{created.json()['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )
    assert client.delete("/api/v1/tokens/999999", headers=admin).status_code == 404
    actions = [e["action"] for e in journal.timeline(database, "token", created.json()["id"])]
    assert actions == ["token.issue", "token.revoke"]


def test_expired_tokens_and_tokens_of_disabled_or_demoted_users_stop_working(
    client: TestClient,
    database: Database,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    def bearer(username: str) -> dict[str, str]:
        user = service.get_user(database, username)
        _row, token = service.issue_token(database, user.id, "t")
        return {"Authorization": f"Bearer {token}"}

    expiring, disabled, demoted = make_user(), make_user(), make_user()
    headers = {name: bearer(name) for name in (expiring, disabled, demoted)}
    for h in headers.values():
        assert client.get("/api/v1/auth/me", headers=h).status_code == 200
    with database.session() as session:
        user_id = session.query(User.id).filter(User.username == expiring).scalar()
        session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user_id)
            .values(expires_at=ApiToken.created_at)
        )
    service.set_disabled(database, disabled)
    service.set_role(database, demoted, "viewer")
    for h in headers.values():
        assert client.get("/api/v1/auth/me", headers=h).status_code == 401


def test_user_and_token_commands(database: Database, cli) -> None:  # type: ignore[no-untyped-def]
    added = cli(
        "user",
        "add",
        "lanh-dao",
        "--role",
        "leader",
        "--full-name",
        "Trần Thị Bình",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    assert PASSWORD not in added.output
    officer = cli("user", "add", "sotnmt", "-r", "agency_officer", "-a", "SNNMT", "--no-password")
    assert officer.exit_code == 0, officer.output
    assert cli("user", "add", "bad", "-r", "agency_officer", "--no-password").exit_code == 1

    listed = cli("user", "list")
    assert (
        "lanh-dao" in listed.output
        and "Trần Thị Bình" in listed.output
        and "SNNMT" in listed.output
    )
    assert cli("user", "set-role", "lanh-dao", "operator").exit_code == 0
    assert service.get_user(database, "lanh-dao").role == "operator"
    assert cli("user", "disable", "lanh-dao").exit_code == 0
    assert service.get_user(database, "lanh-dao").disabled
    assert cli("user", "enable", "lanh-dao").exit_code == 0
    assert (
        cli(
            "user", "set-password", "lanh-dao", "--password-stdin", input="mật khẩu thứ hai!\n"
        ).exit_code
        == 0
    )
    assert cli("user", "disable", "no-such-user").exit_code == 1

    created = cli(
        "token", "create", "--user", "sotnmt", "--name", "cổng HTTP", "--expires-days", "7"
    )
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("tdk_") and service.principal_for_token(database, token) is not None
    listing = cli("token", "list")
    assert (
        token not in listing.output and token[:8] in listing.output and "active" in listing.output
    )
    token_id = service.list_tokens(database, username="sotnmt")[0][0].id
    assert cli("token", "revoke", str(token_id)).exit_code == 0
    assert service.principal_for_token(database, token) is None
    assert "revoked" in cli("token", "list", "--user", "sotnmt").output

    entries = journal.query(database, limit=100).items
    assert {e["actor"] for e in entries} <= {f"cli:{__import__('getpass').getuser()}", "cli"}
    assert {
        "user.create",
        "user.set_role",
        "user.disable",
        "user.enable",
        "user.set_password",
        "token.issue",
        "token.revoke",
    } <= {e["action"] for e in entries}


def test_password_prompt_is_hidden_and_confirmed(database: Database, cli) -> None:  # type: ignore[no-untyped-def]
    mismatch = cli("user", "add", "p1", "-r", "viewer", input=f"{PASSWORD}\nsomething else 1\n" * 1)
    assert mismatch.exit_code != 0
    added = cli("user", "add", "p2", "-r", "viewer", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert added.exit_code == 0, added.output
    assert PASSWORD not in added.output
    with database.session() as session:
        stored = session.query(User.password_hash).filter(User.username == "p2").scalar()
    assert stored.startswith("$argon2id$")


def test_demo_accounts_one_per_role(client: TestClient, database: Database) -> None:
    created = service.ensure_demo_users(database)
    assert sorted(role for _name, _pw, role in created) == sorted(
        ["admin", "leader", "operator", "agency_officer", "viewer"]
    )
    assert service.ensure_demo_users(database) == []  # idempotent; passwords not shown again
    officer = service.get_user(database, "officer")
    assert officer.agencies == ["SNNMT"] and officer.demo_password
    for username, password, role in created:
        stored = service.get_user(database, username).password_hash or ""
        assert stored.startswith("$argon2id$") and password not in stored
        answer = login(client, username, password)
        assert answer.status_code == 200 and answer.json()["role"] == role
    assert sorted(service.demo_password_users(database)) == sorted(n for n, _p, _r in created)
    service.set_password(database, "viewer", "a brand new password")
    assert "viewer" not in service.demo_password_users(database)


def test_serve_refuses_demo_passwords_without_dev(database: Database, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    service.ensure_demo_users(database)
    monkeypatch.setenv("TAYDO_SECRET_KEY", "a-real-secret-key-for-this-test-0123456789")
    refused = cli("serve", "--port", str(free_port()))  # the port is checked first
    assert refused.exit_code == 2
    assert "demo" in refused.output and "set-password" in refused.output


def test_agencies_are_refused_for_roles_they_would_not_scope(
    client: TestClient,
    database: Database,
    cli,
    headers_for,  # type: ignore[no-untyped-def]
) -> None:
    """Only an agency officer is limited by agencies: an operator token's ``--agency`` was
    stored and silently ignored (issue 18, item 12); it is now refused with the reason."""
    assert cli("user", "add", "van-hanh", "-r", "operator", "--no-password").exit_code == 0
    scoped = cli("token", "create", "--user", "van-hanh", "--name", "x", "--agency", "SNNMT")
    assert scoped.exit_code == 1
    assert "only an agency officer is scoped to agencies" in scoped.output
    assert service.list_tokens(database, username="van-hanh") == []
    refused = cli("user", "add", "lanh-dao-2", "-r", "leader", "-a", "SNNMT", "--no-password")
    assert refused.exit_code == 1 and "only an agency officer" in refused.output

    admin = headers_for("admin")
    body = {"username": "van-hanh-2", "role": "operator", "agencies": ["SNNMT"]}
    answer = client.post("/api/v1/users", json=body, headers=admin)
    assert answer.status_code == 422, answer.text
    assert "only an agency officer" in answer.json()["error"]

    # An officer's token keeps the account's agencies; a demoted officer loses them.
    assert (
        cli(
            "user", "add", "can-bo", "-r", "agency_officer", "-a", "SNNMT", "--no-password"
        ).exit_code
        == 0
    )
    assert cli("token", "create", "--user", "can-bo", "--name", "y").exit_code == 0
    assert service.list_tokens(database, username="can-bo")[0][0].agencies == ["SNNMT"]
    assert cli("user", "set-role", "can-bo", "operator").exit_code == 0
    assert service.get_user(database, "can-bo").agencies == []

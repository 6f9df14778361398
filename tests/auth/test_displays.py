"""Display accounts: created by an admin, paired once by a screen, read-only, revocable."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from taydo.auth.displays import PAIRING_PREFIX
from taydo.auth.models import ApiToken
from taydo.auth.sessions import COOKIE_NAME
from taydo.core.db import Database


def _create(client: TestClient, admin: dict[str, str], name: str = "wall-1") -> dict[str, str]:
    answer = client.post(
        "/api/v1/displays", json={"username": name, "label": "Phòng điều hành"}, headers=admin
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, str] = answer.json()
    return body


def _pair(client: TestClient, code: str) -> object:
    return client.post("/display", data={"code": code}, follow_redirects=False)


def test_a_screen_pairs_once_and_reads_only_what_the_wall_shows(
    client: TestClient, database: Database, headers_for
) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    created = _create(client, admin)
    code = created["code"]
    assert code.startswith(PAIRING_PREFIX) and created["pair_url"] == f"/display?code={code}"
    with database.session() as session:  # only a hash of the code is kept
        stored = session.scalars(select(ApiToken.token_hash)).all()
    assert code not in str(stored)

    # The code is no bearer token.
    assert (
        client.get("/api/v1/alerts", headers={"Authorization": f"Bearer {code}"}).status_code == 401
    )

    page = client.get(created["pair_url"])
    assert page.status_code == 200 and code in page.text
    screen = TestClient(client.app)
    paired = _pair(screen, code)
    assert paired.status_code == 303 and paired.headers["location"] == "/?wall=1"  # type: ignore[attr-defined]
    cookie = paired.headers["set-cookie"].lower()  # type: ignore[attr-defined]
    assert cookie.startswith(COOKIE_NAME) and "httponly" in cookie
    assert f"max-age={365 * 86400}" in cookie

    # What the wall shows: the overview, its data, the alerts and the live stream's permission.
    for path in ("/?wall=1", "/console/entities.json", "/console/counters", "/console/feed"):
        assert screen.get(path).status_code == 200, path
    assert screen.get("/api/v1/alerts").status_code == 200
    # Nothing else: no series, no quarantine, no account page, no action.
    assert screen.get("/api/v1/quarantine").status_code == 403
    assert screen.get("/api/v1/auth/me").status_code == 403
    assert screen.get("/api/v1/audit").status_code == 403

    # Spent: the same link does nothing for a second browser.
    again = _pair(TestClient(client.app), code)
    assert again.status_code == 400  # type: ignore[attr-defined]
    assert "không hợp lệ" in again.text  # type: ignore[attr-defined]

    listed = client.get("/api/v1/displays", headers=admin).json()
    assert [(d["username"], d["sessions"], d["revoked"]) for d in listed] == [("wall-1", 1, False)]

    # Revoked: the screen's session is gone at once.
    assert client.delete("/api/v1/displays/wall-1", headers=admin).status_code == 204
    assert screen.get("/api/v1/alerts").status_code == 401
    assert (
        screen.get("/", headers={"Accept": "text/html"}, follow_redirects=False).status_code == 303
    )
    listed = client.get("/api/v1/displays", headers=admin).json()
    assert [(d["sessions"], d["revoked"]) for d in listed] == [(0, True)]

    # A replacement screen: a new code enables the display again.
    fresh = client.post("/api/v1/displays/wall-1/code", headers=admin)
    assert fresh.status_code == 201
    assert _pair(TestClient(client.app), fresh.json()["code"]).status_code == 303  # type: ignore[attr-defined]


def test_pairing_refuses_bad_codes_and_other_sites(client: TestClient, headers_for) -> None:  # type: ignore[no-untyped-def]
    code = _create(client, headers_for("admin"))["code"]
    for bad in ("", "tdp_nope", "tdk_" + code[4:], code + "x", "x" * 500):
        assert _pair(TestClient(client.app), bad).status_code == 400, bad  # type: ignore[attr-defined]
    forged = TestClient(client.app).post(
        "/display",
        data={"code": code},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert forged.status_code == 400
    # The forgery did not spend the code.
    assert _pair(TestClient(client.app), code).status_code == 303  # type: ignore[attr-defined]


def test_the_display_role_is_only_made_by_pairing(client: TestClient, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    user = client.post(
        "/api/v1/users",
        json={"username": "tv", "role": "display", "password": "x" * 12},
        headers=admin,
    )
    assert user.status_code == 422
    assert (
        client.post("/api/v1/displays", json={"username": "wall-1"}, headers=admin).status_code
        == 201
    )
    assert (
        client.post("/api/v1/displays", json={"username": "wall-1"}, headers=admin).status_code
        == 409
    )
    assert client.delete("/api/v1/displays/nobody", headers=admin).status_code == 404
    # Only an admin manages displays.
    operator = headers_for("operator")
    assert (
        client.post("/api/v1/displays", json={"username": "w2"}, headers=operator).status_code
        == 403
    )


def test_display_commands(cli, database: Database) -> None:  # type: ignore[no-untyped-def]
    added = cli("display", "add", "wall-2", "--label", "Sảnh", "--base-url", "https://ioc.local/")
    assert added.exit_code == 0, added.output
    assert "https://ioc.local/display?code=tdp_" in added.stdout
    listed = cli("display", "list")
    assert "wall-2" in listed.output and "active" in listed.output
    assert cli("display", "code", "wall-2").exit_code == 0
    revoked = cli("display", "revoke", "wall-2")
    assert revoked.exit_code == 0
    assert "revoked" in cli("display", "list").output
    assert cli("display", "revoke", "nobody").exit_code == 1

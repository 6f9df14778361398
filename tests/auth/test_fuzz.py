"""Arbitrary input to the login route and to the CSRF form reader never crashes the server."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.auth.conftest import login

ANY_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


def test_login_bodies_get_a_clear_answer(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(name="fuzz-target")

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        body=ANY_JSON
        | st.fixed_dictionaries(
            {"username": st.text(max_size=120), "password": st.text(max_size=200)}
        )
    )
    def check(body: object) -> None:
        answer = client.post("/api/v1/auth/login", json=body)
        assert answer.status_code in (401, 422, 429), answer.text
        assert answer.json()["error"] if answer.status_code != 422 else answer.json()

    check()


def test_any_form_body_on_a_session_gets_a_clear_answer(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    login(client, make_user())

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        body=st.binary(max_size=2000),
        content_type=st.sampled_from(
            [
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=xyz",
                "multipart/form-data",
            ]
        ),
    )
    def check(body: bytes, content_type: str) -> None:
        answer = client.post("/api/v1/users", content=body, headers={"Content-Type": content_type})
        assert answer.status_code == 403  # no valid CSRF token can be in random bytes

    check()
    assert client.get("/api/v1/auth/me").status_code == 200  # the session survived


def test_account_and_audit_input_gets_a_clear_answer(client: TestClient, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    text = st.text(max_size=40)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        user=ANY_JSON
        | st.fixed_dictionaries(
            {"username": text, "role": text, "agencies": st.lists(text, max_size=2)},
            optional={"full_name": text},
        ),
        token=ANY_JSON
        | st.fixed_dictionaries({"username": text, "name": text}, optional={"role": text}),
        query=st.dictionaries(
            st.sampled_from(["actor", "action", "object_type", "object_id", "since", "limit"]),
            text,
        ),
        name=text,
    )
    def check(user: object, token: object, query: dict[str, str], name: str) -> None:
        answers = [
            client.post("/api/v1/users", json=user, headers=admin),
            client.post("/api/v1/tokens", json=token, headers=admin),
            client.get("/api/v1/audit", params=query, headers=admin),
            client.patch(f"/api/v1/users/{quote(name, safe='')}", json=user, headers=admin),
        ]
        for answer in answers:
            assert answer.status_code < 500, (answer.request.url, answer.text)

    check()

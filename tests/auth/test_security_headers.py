"""Security headers on every answer: pages, JSON, errors, the OpenAPI document."""

from __future__ import annotations

from fastapi.testclient import TestClient

from taydo.core.security import CONTENT_SECURITY_POLICY


def test_every_answer_carries_the_security_headers(client: TestClient, headers_for) -> None:  # type: ignore[no-untyped-def]
    answers = [
        client.get("/api/openapi.json"),
        client.get("/api/v1/auth/me"),  # 401
        client.get("/api/v1/users", headers=headers_for("viewer")),  # 403
        client.get("/api/v1/users", headers=headers_for("admin")),  # 200
        client.get("/no/such/page"),  # 404
        client.post("/api/v1/auth/login", content=b"{not json"),  # 422
    ]
    assert [a.status_code for a in answers] == [200, 401, 403, 200, 404, 422]
    for answer in answers:
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "strict-transport-security" not in answer.headers  # only behind HTTPS


def test_the_policy_allows_only_the_iocs_own_origin() -> None:
    directives = dict(
        (part.split()[0], part.split()[1:]) for part in CONTENT_SECURITY_POLICY.split("; ")
    )
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    sources = {source for values in directives.values() for source in values}
    assert not any(s.startswith(("http", "*", "'unsafe")) for s in sources)

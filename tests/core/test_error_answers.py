"""Every error is the API's JSON error shape, and the OpenAPI says so (issue 18, items 11, 12).

A fault nobody foresaw used to answer ``Internal Server Error`` as plain text; Starlette's own
refusals (an unknown path, a method the path does not take) answered ``{"detail": …}``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from taydo.core.access import api_routes, requires


class _Secret(RuntimeError):
    pass


@pytest.fixture
def faulty(app: FastAPI) -> Iterator[TestClient]:
    """The real app with one more route that fails the way a bug would."""

    @app.get("/api/v1/test-fault")
    def fault(_p: object = requires("catalog:read")) -> None:
        raise _Secret("password=hunter2 in an exception's text")

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_an_unhandled_error_answers_500_in_the_error_shape(
    faulty: TestClient, headers_for, caplog: pytest.LogCaptureFixture
) -> None:
    answer = faulty.get("/api/v1/test-fault", headers=headers_for("viewer"))
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"error"} and "internal server error" in body["error"]
    assert "hunter2" not in answer.text  # the exception's text stays in the server's log
    assert any("hunter2" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def test_an_unknown_path_and_a_wrong_method_answer_in_the_error_shape(
    client: TestClient,
) -> None:
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.json() == {"error": "không tìm thấy / not found"}

    wrong = client.delete("/api/v1/alerts/choices")
    assert wrong.status_code == 405
    assert wrong.json()["error"].endswith("method not allowed")
    assert wrong.headers["allow"] == "GET"
    # a path served by several routes (GET and POST /agencies) names all their methods
    both = client.put("/api/v1/agencies")
    assert both.status_code == 405
    assert both.headers["allow"] == "GET, POST"
    item = client.options("/api/v1/agencies/SNNMT")
    assert item.status_code == 405 and item.headers["allow"] == "DELETE, GET, PATCH"


def test_the_console_login_redirect_is_still_a_redirect(client: TestClient) -> None:
    answer = client.get("/alerts", headers={"Accept": "text/html"}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


def test_the_openapi_lists_the_error_answers_of_every_operation(app: FastAPI) -> None:
    schema = app.openapi()
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]
    declared = {
        (route.path, method.lower()): route.permission
        for route in api_routes(app)
        for method in route.methods
    }
    missing = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            wanted = {"400", "404", "422", "500"}
            if declared.get((path, method)) not in (None, "public"):
                wanted |= {"401", "403"}
            if not wanted <= codes:
                missing.append(f"{method.upper()} {path}: {sorted(wanted - codes)}")
            if path.startswith("/api/"):
                shape = operation["responses"]["422"]["content"]["application/json"]["schema"]
                assert shape == {"$ref": "#/components/schemas/Error"}, path
    assert missing == []

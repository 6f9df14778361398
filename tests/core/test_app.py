from __future__ import annotations

from taydo.core.access import api_routes


def test_openapi_is_served(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Tây Đô IOC"


def test_every_api_route_declares_a_permission(app) -> None:  # type: ignore[no-untyped-def]
    routes = api_routes(app)
    assert any(route.path == "/api/v1/auth/login" for route in routes)  # the walk sees routes
    undeclared = [
        f"{sorted(route.methods)} {route.path}" for route in routes if route.permission is None
    ]
    assert undeclared == []

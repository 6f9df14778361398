from __future__ import annotations

from taydo.core.access import route_permission


def test_openapi_is_served(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Tây Đô IOC"


def test_every_api_route_declares_a_permission(app) -> None:  # type: ignore[no-untyped-def]
    from fastapi.routing import APIRoute

    undeclared = [
        f"{sorted(route.methods)} {route.path}"
        for route in app.routes
        if isinstance(route, APIRoute) and route_permission(route) is None
    ]
    assert undeclared == []

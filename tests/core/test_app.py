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


def test_an_app_started_again_hears_catalog_changes_through_its_newest_series_index(
    app,
) -> None:  # type: ignore[no-untyped-def]
    """A stopped series index must not keep answering ``catalog.changed`` for its successor
    (it would name the hand-over mark with its own origin, and the new index would drop
    what the writer handed it)."""
    from fastapi.testclient import TestClient

    from taydo.catalog.series import SeriesIndex
    from taydo.core.runtime import runtime_of

    runtime = runtime_of(app)
    for _ in range(3):
        with TestClient(app):
            pass
    with TestClient(app):
        data = {"entity_ids": ["x"], "refreshed_mark": 7}
        for listener in runtime._listeners["catalog.changed"]:
            listener(data)
        newest = runtime.get(SeriesIndex)
        assert data["refreshed"] == {"origin": newest.origin, "mark": 7}
        assert len(runtime._listeners["catalog.changed"]) == 1

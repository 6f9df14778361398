"""A NUL character in a URL gets one clear 400 on every route (PostgreSQL cannot store NUL)."""

from __future__ import annotations

import pytest

PATHS = [
    "/api/v1/entities/%00",
    "/api/v1/entities/a%00/series/height",
    "/api/v1/latest?type=%00",
    "/api/v1/alerts?area=%00",
    "/api/v1/areas/%00",
    "/api/v1/datasets/%00/health",
    "/api/v1/quarantine?source=%00",
    "/api/v1/audit?actor=%00",
]


@pytest.mark.parametrize("path", PATHS)
def test_a_nul_in_the_url_is_refused_clearly(client, headers_for, path: str) -> None:  # type: ignore[no-untyped-def]
    answer = client.get(path, headers=headers_for("admin"))
    assert answer.status_code == 400
    assert "NUL" in answer.json()["error"]
    assert answer.headers["x-content-type-options"] == "nosniff"  # still behind the headers


@pytest.mark.parametrize(
    "path",
    [
        "/ngsi-ld/v1/entities/%00",
        "/ngsi-ld/v1/entities?type=%00",
        "/ngsi-ld/v1/entities?q=a%3D%3D%00",
        "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:X:%00",
    ],
)
def test_ngsi_ld_answers_a_nul_with_problem_details(client, headers_for, path: str) -> None:  # type: ignore[no-untyped-def]
    answer = client.get(path, headers=headers_for("admin"))
    assert 400 <= answer.status_code < 500
    assert answer.headers["content-type"].startswith("application/")
    assert "type" in answer.json() and "title" in answer.json()  # ProblemDetails

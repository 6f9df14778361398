"""Who may end a silence (issue 18, items 1 and 2), over HTTP, on SQLite and PostgreSQL.

An agency officer ends only a silence scoped to their own agencies: not another agency's, and
not a city-wide one (a silence that names no agency covers them all). Operators and admins
end any. Ending one answers 204 on both databases: on SQLite it used to be a 500 (a naive
``ends_at`` read back was compared with an aware ``now``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from taydo.auth import journal
from taydo.core import clock
from taydo.core.db import Database

Headers = Callable[..., dict[str, str]]


def _silence(client: TestClient, headers: dict[str, str], agencies: list[str]) -> int:
    answer = client.post(
        "/api/v1/silences",
        json={
            "match": {"agencies": agencies},
            "ends_at": (clock.now() + timedelta(hours=2)).isoformat(),
            "reason": "bảo trì trạm / station maintenance",
        },
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _active_ids(client: TestClient, headers: dict[str, str]) -> set[int]:
    answer = client.get("/api/v1/silences", params={"active": True}, headers=headers)
    assert answer.status_code == 200, answer.text
    return {row["id"] for row in answer.json()}


def _unsilence_entries(database: Database) -> list[dict[str, Any]]:
    return journal.query(database, action="alert.unsilence").items


@pytest.mark.parametrize("scope", [[], ["KTTV"]], ids=["city-wide", "another-agency"])
def test_an_officer_cannot_end_a_silence_outside_their_agencies(
    client: TestClient, database: Database, headers_for: Headers, scope: list[str]
) -> None:
    operator = headers_for("operator")
    officer = headers_for("agency_officer", ["SNNMT"])
    silence_id = _silence(client, operator, scope)

    answer = client.delete(f"/api/v1/silences/{silence_id}", headers=officer)

    assert answer.status_code == 404, answer.text  # as if absent: no existence leak
    assert answer.json()["error"]
    assert silence_id in _active_ids(client, operator)
    assert _unsilence_entries(database) == []


def test_an_officer_with_no_agency_at_all_ends_nothing(
    client: TestClient, database: Database, headers_for: Headers
) -> None:
    """A token scoped to an empty set of agencies (an account that lost its agencies) must
    not pass the subset check on a city-wide silence (∅ ⊆ ∅)."""
    from taydo.auth.models import ApiToken

    operator = headers_for("operator")
    officer = headers_for("agency_officer", ["SNNMT"])
    with database.session() as session:  # what an older row can hold: no agency at all
        for token in session.query(ApiToken).filter(ApiToken.role == "agency_officer"):
            token.agencies = []
    silence_id = _silence(client, operator, [])

    answer = client.delete(f"/api/v1/silences/{silence_id}", headers=officer)

    assert answer.status_code == 404, answer.text
    assert silence_id in _active_ids(client, operator)


def test_an_officer_ends_their_own_agencys_silence(
    client: TestClient, database: Database, headers_for: Headers
) -> None:
    officer = headers_for("agency_officer", ["SNNMT"])
    silence_id = _silence(client, officer, ["SNNMT"])

    answer = client.delete(f"/api/v1/silences/{silence_id}", headers=officer)

    assert answer.status_code == 204, answer.text
    assert silence_id not in _active_ids(client, officer)
    assert [e["object_id"] for e in _unsilence_entries(database)] == [str(silence_id)]


def test_an_operator_ends_a_city_wide_silence(
    client: TestClient, database: Database, headers_for: Headers
) -> None:
    operator = headers_for("operator")
    silence_id = _silence(client, operator, [])

    answer = client.delete(f"/api/v1/silences/{silence_id}", headers=operator)

    assert answer.status_code == 204, answer.text
    assert silence_id not in _active_ids(client, operator)
    listed = {s["id"]: s for s in client.get("/api/v1/silences", headers=operator).json()}
    ends_at = listed[silence_id]["ends_at"]
    assert ends_at.endswith("+00:00"), ends_at  # read back aware, on SQLite too


def test_an_officer_lists_the_silences_that_reach_their_alerts(
    client: TestClient, headers_for: Headers
) -> None:
    operator = headers_for("operator")
    city_wide = _silence(client, operator, [])
    theirs = _silence(client, operator, ["SNNMT"])
    others = _silence(client, operator, ["KTTV"])
    officer = headers_for("agency_officer", ["SNNMT"])
    assert _active_ids(client, officer) == {city_wide, theirs}
    assert _active_ids(client, operator) == {city_wide, theirs, others}

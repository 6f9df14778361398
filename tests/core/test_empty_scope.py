"""Agency scope when a set is empty (issue 18, item 2): rows that belong to no agency, and an
officer whose token names no agency, over HTTP on both databases.

A scope check written as "the row's agencies ⊆ the caller's" passes on the empty set; one
written as "the row's agency ∈ the caller's" fails on a row of no agency. Each route class
below must treat a row of no agency as outside every officer's scope (404, as if absent, or
left out of lists), and an officer of no agency as reaching nothing, while an operator reaches
all. Silences have their own file (``tests/alerts/test_silence_scope.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from taydo.alerts.models import Alert
from taydo.auth.models import ApiToken
from taydo.catalog.models import Agency, Entity
from taydo.core import clock
from taydo.core.db import Database
from taydo.ingest import quarantine

Headers = Callable[..., dict[str, str]]
ORPHAN = "urn:ngsi-ld:Device:no-agency"


@pytest.fixture
def rows(database: Database) -> dict[str, int]:
    """An alert, a quarantine entry and an entity that belong to no agency; an agency."""
    now = clock.now()
    with database.session() as session:
        session.add(Agency(code="SNNMT", name="Sở Nông nghiệp và Môi trường", kind="so"))
        session.add(
            Entity(
                entity_id=ORPHAN,
                type="Device",
                name="Thiết bị chưa gán cơ quan",
                attributes={},
                tags=[],
                created_at=now,
                updated_at=now,
            )
        )
        alert = Alert(
            rule_code="r",
            rule_kind="threshold",
            target=ORPHAN,
            open_key=f"r|{ORPHAN}",
            state="firing",
            severity="warning",
            entity_id=ORPHAN,
            agency_code=None,
            title="Cảnh báo không thuộc cơ quan nào",
            started_at=now - timedelta(minutes=5),
            updated_at=now,
        )
        session.add(alert)
        session.flush()
        alert_id = alert.id
    quarantine.put_many(database, [quarantine.Entry("http", "unknown series", {"x": 1}, None)])
    return {"alert": alert_id}


def _officer_of_no_agency(database: Database, headers_for: Headers) -> dict[str, str]:
    """An officer's token whose agency list is empty (a row written before the check that
    refuses it, or an account whose agencies were emptied in the database)."""
    headers = headers_for("agency_officer", ["SNNMT"])
    with database.session() as session:
        for token in session.query(ApiToken).filter(ApiToken.role == "agency_officer"):
            token.agencies = []
    return headers


@pytest.mark.parametrize("who", ["officer", "officer-of-no-agency"])
def test_rows_of_no_agency_are_outside_every_officers_scope(
    client: TestClient,
    database: Database,
    headers_for: Headers,
    rows: dict[str, int],
    who: str,
) -> None:
    if who == "officer":
        officer = headers_for("agency_officer", ["SNNMT"])
    else:
        officer = _officer_of_no_agency(database, headers_for)
    alert = rows["alert"]

    # alerts: not listed, not readable, not actionable
    assert client.get("/api/v1/alerts", headers=officer).json() == []
    assert client.get(f"/api/v1/alerts/{alert}", headers=officer).status_code == 404
    for action, body in (("ack", {}), ("resolve", {"note": "xong"}), ("assign", {})):
        answer = client.post(f"/api/v1/alerts/{alert}/{action}", json=body, headers=officer)
        assert answer.status_code == 404, (action, answer.text)
    # a silence of every agency
    silenced = client.post(
        "/api/v1/silences",
        json={
            "match": {},
            "ends_at": (clock.now() + timedelta(hours=1)).isoformat(),
            "reason": "thử",
        },
        headers=officer,
    )
    assert silenced.status_code == 403, silenced.text

    # quarantine: not listed, not readable, not discardable
    listed = client.get("/api/v1/quarantine", headers=officer)
    assert listed.status_code == 200 and listed.json()["items"] == [], listed.text
    entries = client.get("/api/v1/quarantine", headers=headers_for("operator")).json()["items"]
    assert len(entries) == 1
    entry = entries[0]["id"]
    assert client.get(f"/api/v1/quarantine/{entry}", headers=officer).status_code == 404
    discard = client.post(f"/api/v1/quarantine/{entry}/discard", json={}, headers=officer)
    assert discard.status_code == 404, discard.text

    # entities: the catalog is read city-wide (catalog:read), but not changeable or deletable
    patched = client.patch(f"/api/v1/entities/{ORPHAN}", json={"name": "x"}, headers=officer)
    assert patched.status_code in (403, 404), patched.text
    deleted = client.delete(f"/api/v1/entities/{ORPHAN}", headers=officer)
    assert deleted.status_code in (403, 404), deleted.text

    # and the operator still reaches all of it
    operator = headers_for("operator")
    assert client.get(f"/api/v1/alerts/{alert}", headers=operator).status_code == 200
    assert client.get(f"/api/v1/quarantine/{entry}", headers=operator).status_code == 200


def test_an_officer_of_no_agency_creates_nothing(
    client: TestClient, database: Database, headers_for: Headers, rows: dict[str, int]
) -> None:
    officer = _officer_of_no_agency(database, headers_for)
    entity = {"entity_id": "urn:ngsi-ld:Device:new", "name": "mới"}
    created = client.post("/api/v1/entities", json=entity, headers=officer)
    assert created.status_code in (403, 422), created.text
    dataset = {
        "code": "ds-new",
        "name": "Bộ mới",
        "agency": "SNNMT",
        "pillar": "economy",
        "sector": "agriculture",
        "update_interval": "1h",
    }
    assert client.post("/api/v1/datasets", json=dataset, headers=officer).status_code == 403
    silence = client.post(
        "/api/v1/silences",
        json={
            "match": {"agencies": ["SNNMT"]},
            "ends_at": (clock.now() + timedelta(hours=1)).isoformat(),
            "reason": "thử",
        },
        headers=officer,
    )
    assert silence.status_code == 403, silence.text
    ngsi = client.post(
        "/ngsi-ld/v1/entities",
        json={"id": "urn:ngsi-ld:Device:ngsi-new", "type": "Device"},
        headers={**officer, "Content-Type": "application/json"},
    )
    assert ngsi.status_code == 403, ngsi.text
    operator = headers_for("operator")
    listed = client.get("/api/v1/entities", headers=operator).json()["items"]
    assert [e["entity_id"] for e in listed] == [ORPHAN]  # nothing was created

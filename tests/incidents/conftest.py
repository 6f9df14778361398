"""Incident tests: the Cần Thơ pack's incident data, alerts and report events to correlate,
a notification route that carries incident messages."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from taydo.alerts.models import Alert, Channel, Route
from taydo.core import clock
from taydo.core.db import Database
from taydo.core.plugins import Pack
from taydo.incidents.service import load_incidents_pack

PACK_DATA = Path(__file__).parents[2] / "src/taydo/packs/cantho/data"
WARD = "31135"  # Phường Ninh Kiều
OTHER_WARD = "31186"  # Phường Cái Răng


@pytest.fixture
def pack(database: Database) -> Database:
    """The pack's SOPs, SLA table and correlation rules."""
    load_incidents_pack(database, Pack("cantho", "Cần Thơ", PACK_DATA))
    return database


def make_alert(
    database: Database,
    rule: str,
    *,
    area: str = WARD,
    agency: str = "DKTTV",
    severity: str = "warning",
    state: str = "firing",
    started: datetime | None = None,
    entity_id: str | None = None,
) -> dict[str, Any]:
    """An alert as the alert engine stores it; returns it as ``alerts.transition`` carries it."""
    from taydo.alerts.service import alert_dict

    now = started or clock.now()
    with database.session() as session:
        alert = Alert(
            rule_code=rule,
            rule_kind="threshold",
            target=entity_id or f"urn:test:{rule}:{area}",
            open_key=None if state == "resolved" else f"{rule}|{area}|{now.timestamp()}",
            state=state,
            severity=severity,
            entity_id=entity_id,
            area_code=area,
            agency_code=agency,
            title=f"{rule} tại {area}",
            title_en=f"{rule} in {area}",
            started_at=now,
            updated_at=now,
        )
        session.add(alert)
        session.flush()
        return alert_dict(alert)


def report_event(
    report_id: int, *, area: str = WARD, service: str = "ngap-nuoc", **extra: Any
) -> dict[str, Any]:
    """A ``citizen.report.created`` payload (the shared contract)."""
    return {
        "id": report_id,
        "service_code": service,
        "title": f"Ngập đường {report_id}",
        "status": "open",
        "agency_code": "UBND-NINHKIEU",
        "area_code": area,
        "lat": 10.034,
        "lon": 105.785,
        "requested_at": (clock.now() - timedelta(minutes=5)).isoformat(),
        "url": f"/citizen/reports/{report_id}",
        **extra,
    }


@pytest.fixture
def message_route(database: Database) -> None:
    """A channel and a route carrying every message at watch or above (no receiver: the
    deliveries stay queued in the outbox, which is what the tests read)."""
    with database.session() as session:
        session.add(
            Channel(
                code="ioc-hook",
                kind="webhook",
                name="IOC",
                config={"url": "http://127.0.0.1:9/hook"},
                enabled=True,
                max_attempts=1,
            )
        )
        session.add(
            Route(
                code="everything",
                name="all",
                position=0,
                matchers={},
                channels=["ioc-hook"],
                escalation=[],
                source="test",
            )
        )

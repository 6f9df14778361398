"""A KPI going off target raises an alert through the ordinary rules engine (the pack's
``kpi-off-target`` threshold rule on the status level the engine writes), routed to the KPI's
agency, and resolves when the KPI is back on target."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from taydo.core.db import Database
from taydo.core.plugins import make_plugin_manager, packs
from taydo.packs.loading import load_pack

Headers = Callable[..., dict[str, str]]
URL = "/api/v1/kpis/benh-an-dien-tu/entries"


def _alerts(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    return [
        a
        for a in client.get("/api/v1/alerts", params=params, headers=headers).json()
        if a["rule"] == "kpi-off-target"
    ]


def _wait(found: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20  # the engine judges asynchronously, off the request
    while time.monotonic() < deadline:
        if rows := found():
            return rows
        time.sleep(0.1)
    return []


def test_off_target_alerts_and_back_on_target_resolves(
    database: Database, app: Any, headers_for: Headers
) -> None:
    load_pack(database, packs(make_plugin_manager())["cantho"])  # the rules, before the start
    with TestClient(app) as client:
        _scenario(client, headers_for)


def _scenario(client: TestClient, headers_for: Headers) -> None:
    admin, officer = headers_for("admin"), headers_for("agency_officer", ["SYT"])
    compute = {"codes": ["benh-an-dien-tu"]}
    entry = {"period": "2026-Q3", "value": 100.0, "evidence": "Báo cáo 2/BC-SYT"}
    assert client.post(URL, json=entry, headers=officer).status_code == 201
    first = client.post("/api/v1/kpi/compute", json=compute, headers=admin).json()
    assert first["changes"][0]["before"] is None  # the first status is the baseline: no alert
    entry = {**entry, "value": 40.0, "evidence": "Báo cáo 3/BC-SYT (điều chỉnh)"}
    assert client.post(URL, json=entry, headers=officer).status_code == 201
    run = client.post("/api/v1/kpi/compute", json=compute, headers=admin).json()
    change = run["changes"][0]
    assert (change["code"], change["period"], change["before"], change["status"]) == (
        "benh-an-dien-tu",
        "2026-Q3",
        "green",
        "red",
    )

    firing = _wait(lambda: _alerts(client, admin, active=True))
    assert len(firing) == 1
    alert = firing[0]
    assert alert["entity_id"] == "urn:ngsi-ld:KeyPerformanceIndicator:benh-an-dien-tu"
    assert alert["severity"] == "warning" and alert["agency_code"] == "SYT"
    assert _alerts(client, officer, active=True)  # the KPI's agency sees it

    better = {**entry, "value": 100.0, "evidence": "Báo cáo 4/BC-SYT (điều chỉnh)"}
    client.post(URL, json=better, headers=officer)
    client.post("/api/v1/kpi/compute", json=compute, headers=admin)
    resolved = _wait(lambda: [a for a in _alerts(client, admin) if a["state"] == "resolved"])
    assert resolved and resolved[0]["id"] == alert["id"]

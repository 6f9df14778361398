"""Alert titles for people, composed when an alert fires: a ward by its name, and a ward no
unit names (units never loaded) said as an area with its code — never the engine's
``area:…`` target."""

from __future__ import annotations

from typing import Any

from taydo.alerts.service import apply_transitions
from taydo.core.db import Database
from taydo.rules.engine import Transition
from taydo.rules.service import parse_rule

RISK_RULE = {
    "code": "flood-risk-ward",
    "kind": "threshold",
    "name": "Rủi ro ngập lụt cấp phường",
    "name_en": "Ward flood risk",
    "metric": "height",
    "target": {"types": ["WaterObserved"]},
    "levels": [
        {"code": "l2", "label": "Cấp 2", "label_en": "Level 2", "value": 1.0, "severity": "warning"}
    ],
}


def _fire(database: Database, area: str) -> dict[str, Any]:
    rule = parse_rule(RISK_RULE)
    transition = Transition(
        rule=rule.code,
        target=f"area:{area}",
        action="fire",
        level=None,
        severity="warning",
        value=2.1,
        ts=0,
        area_code=area,
        risk_level=2,
    )
    (alert,) = apply_transitions(database, [transition], {rule.code: rule})
    return alert


def test_a_ward_is_named(database: Database, catalog: dict[str, int]) -> None:
    alert = _fire(database, "31117")
    assert alert["title"].endswith(" — Phường Ninh Kiều"), alert["title"]
    assert alert["title_en"].endswith(" — Phường Ninh Kiều"), alert["title_en"]
    assert alert["title"].startswith("Rủi ro ngập lụt cấp phường: ")
    assert "area:" not in alert["title"] + alert["title_en"]


def test_a_ward_no_unit_names_is_said_as_an_area(
    database: Database, catalog: dict[str, int]
) -> None:
    alert = _fire(database, "31340")  # no such unit in this database
    assert alert["title"].endswith(" — Địa bàn 31340"), alert["title"]
    assert alert["title_en"].endswith(" — Area 31340"), alert["title_en"]
    assert "area:" not in alert["title"] + alert["title_en"]

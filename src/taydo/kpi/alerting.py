"""A KPI's status as an observation, so the rules engine raises its alerts.

Each KPI with a status change gets a catalog entity ``urn:ngsi-ld:KeyPerformanceIndicator:
<code>`` (FIWARE's KeyPerformanceIndicator type, filed under the KPI's agency so that the alert
routes reach that agency) with one metric, ``statusLevel``: 0 green, 1 amber, 2 red (a grey
status writes nothing: no data is not a judgement). The level is written through the server's
observation writer, like any reading, so an ordinary ``threshold`` rule on ``statusLevel``
(the Cần Thơ pack's ``kpi-off-target``) opens, escalates, routes and resolves the alert —
no second alert path, no rule kind of its own.
"""

from __future__ import annotations

from typing import Any

from taydo.catalog.schemas import EntityIn, MetricIn
from taydo.catalog.service import get_entity, series_by_name
from taydo.core.db import Database
from taydo.core.errors import NotFound, TaydoError
from taydo.kpi.service import get_kpi

__all__ = ["LEVELS", "METRIC", "TYPE", "entity_id_of", "level_series"]

TYPE = "KeyPerformanceIndicator"
METRIC = "statusLevel"
LEVELS = {"green": 0.0, "amber": 1.0, "red": 2.0}


def entity_id_of(code: str) -> str:
    return f"urn:ngsi-ld:{TYPE}:{code}"


def level_series(database: Database, codes: list[str]) -> tuple[dict[str, int], list[str]]:
    """The ``statusLevel`` series of each KPI, its entity created when missing; returns the
    series by code and the entity ids created (to announce as a catalog change)."""
    from taydo.catalog.service import create_entity

    created: list[str] = []
    for code in codes:
        entity_id = entity_id_of(code)
        try:
            get_entity(database, entity_id)
            continue
        except NotFound:
            pass
        kpi = get_kpi(database, code)
        spec: dict[str, Any] = {
            "entity_id": entity_id,
            "name": f"Chỉ số {kpi['name']}"[:200],
            "agency": kpi["agency"],
            "attributes": {"kpi": code, "pillar": kpi["pillar"], "sector": kpi["sector"]},
            "metrics": [MetricIn(name=METRIC, unit="C62", min_valid=0, max_valid=2)],
        }
        try:
            create_entity(database, EntityIn.model_validate(spec), None)
        except TaydoError:  # an agency the catalog does not know: filed under none
            create_entity(database, EntityIn.model_validate({**spec, "agency": None}), None)
        created.append(entity_id)
    names = series_by_name(database)
    found = {
        code: names[(entity_id_of(code), METRIC)]
        for code in codes
        if (entity_id_of(code), METRIC) in names
    }
    return found, created

"""The overview map's states: alarm levels reached, active alerts, scope."""

from __future__ import annotations

from typing import Any

from taydo.console.overview import EntityCache, alarm_state, entity_rows
from taydo.core import clock
from taydo.core.access import Principal
from taydo.observations import service as observations

OPERATOR = Principal("op", "operator")
CAN_THO = "urn:ngsi-ld:WaterObserved:can-tho"


def _states(database, principal=OPERATOR, **kwargs: Any) -> dict[str, str]:  # type: ignore[no-untyped-def]
    data = entity_rows(database, principal, **kwargs)
    return {row[0].rsplit(":", 1)[1]: row[4] for row in data["rows"]}


def test_alarm_levels_colour_a_station() -> None:
    levels = {"1": 1.8, "2": 1.9, "3": 2.0}
    assert alarm_state(None, levels) == "nodata"
    assert alarm_state(1.2, levels) == "normal"
    assert alarm_state(1.8, levels) == "level1"
    assert alarm_state(1.95, levels) == "level2"
    assert alarm_state(2.4, levels) == "level3"
    assert alarm_state(2.4, None) == "normal"


def test_states_follow_latest_values_and_alerts(database, stations, open_alert) -> None:  # type: ignore[no-untyped-def]
    assert _states(database) == {"can-tho": "nodata", "cai-rang": "nodata", "quiet": "nodata"}
    now = clock.now_ms()
    observations.write_points(
        database,
        [
            observations.Point(stations["can-tho"], now, 1.93),
            observations.Point(stations["cai-rang"], now, 1.1),
        ],
    )
    assert _states(database) == {"can-tho": "level2", "cai-rang": "normal", "quiet": "nodata"}
    # An alert of lower rank than the level reached does not hide the level …
    open_alert(CAN_THO, "watch")
    assert _states(database)["can-tho"] == "level2"
    # … a more severe one shows.
    open_alert("urn:ngsi-ld:WaterObserved:cai-rang", "danger", agency="SXD")
    assert _states(database)["cai-rang"] == "danger"


def test_an_officer_sees_only_their_agencies_entities(database, stations) -> None:  # type: ignore[no-untyped-def]
    officer = Principal("o", "agency_officer", frozenset({"SXD"}))
    assert set(_states(database, officer)) == {"cai-rang"}


def test_the_map_sees_catalog_changes_at_once(database, stations) -> None:  # type: ignore[no-untyped-def]
    from taydo.catalog.schemas import EntityPatch
    from taydo.catalog.service import delete_entity, update_entity

    cache = EntityCache(database)
    assert len(_states(database, cache=cache)) == 3
    update_entity(database, CAN_THO, EntityPatch(name="Trạm thủy văn Cần Thơ"), None)
    assert entity_rows(database, OPERATOR, cache=cache)["rows"][0][1] == "Trạm thủy văn Cần Thơ"
    delete_entity(database, "urn:ngsi-ld:WaterObserved:quiet", None)
    assert set(_states(database, cache=cache)) == {"can-tho", "cai-rang"}

"""What the overview map and counters show: each entity's state, and the headline counts.

An entity's state is the worst of: the most severe active alert on any of its series, and the
alarm level (Báo động 1/2/3, from ``attributes.alarm_levels``) its latest water level has
reached; else ``normal`` when it has a latest value and ``nodata`` when it has none. The map
reads this as compact rows (one small list per entity) so 10,000 entities answer quickly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from taydo.alerts.service import open_alerts
from taydo.catalog.service import (
    CatalogVersion,
    catalog_version,
    placed_entities,
    series_owners,
)
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.observations.latest import latest_value_by_series
from taydo.rules.choices import SEVERITIES, severity_rank
from taydo.web.i18n import N_

__all__ = [
    "LEVEL_STATES",
    "EntityCache",
    "Placed",
    "State",
    "alarm_state",
    "entity_rows",
    "legend",
    "legend_groups",
]

# Metrics compared with an entity's alarm levels (WaterObserved.height, in metres).
ALARM_METRICS = ("height",)


@dataclass(frozen=True)
class State:
    code: str
    label: str
    label_en: str
    colour: str
    rank: int


# Ranks interleave with alert severities (info 1 … emergency 5): an alarm level reached
# without an alert still outranks "normal"; Báo động 3 ranks with a "danger" alert.
LEVEL_STATES: tuple[State, ...] = (
    State("nodata", "Chưa có số liệu", "No data", "#9e9e9e", -2),
    State("normal", "Bình thường", "Normal", "#43a047", -1),
    State("level1", "Báo động 1", "Alarm level 1", "#fdd835", 2),
    State("level2", "Báo động 2", "Alarm level 2", "#fb8c00", 3),
    State("level3", "Báo động 3", "Alarm level 3", "#e53935", 4),
)


def _severity_states() -> tuple[State, ...]:
    return tuple(State(c.code, c.vi, c.en, c.colour, c.rank) for c in SEVERITIES)


def legend() -> list[State]:
    """Every state the map can show, least to most severe."""
    return sorted((*LEVEL_STATES, *_severity_states()), key=lambda s: s.rank)


def legend_groups() -> list[tuple[str, list[State]]]:
    """The legend as shown: entity states, then alert severities (most severe last)."""
    return [
        (N_("Trạng thái đối tượng"), list(LEVEL_STATES)),
        (N_("Mức độ cảnh báo"), sorted(_severity_states(), key=lambda s: s.rank)),
    ]


def _thresholds(levels: dict[str, Any] | None) -> tuple[tuple[float, str], ...]:
    """An entity's alarm levels as (value, state) pairs, ready for the per-request loop."""
    found = []
    for key in ("1", "2", "3"):
        value = (levels or {}).get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            found.append((float(value), f"level{key}"))
    return tuple(sorted(found))


def alarm_state(value: float | None, levels: dict[str, Any] | None) -> str:
    """``level1``..``level3`` for the highest alarm level ``value`` reached, else normal/nodata."""
    if value is None:
        return "nodata"
    return _reached(value, _thresholds(levels))


def _reached(value: float, thresholds: tuple[tuple[float, str], ...]) -> str:
    reached = "normal"
    for threshold, state in thresholds:
        if value >= threshold:
            reached = state
    return reached


def _latest_by_entity(
    database: Database, series: dict[int, tuple[int, bool]]
) -> tuple[set[int], dict[int, float]]:
    """Entities with any latest value, and the latest alarm-metric value of each entity.

    Reads every series' latest value (one row per series, no join): ``series`` maps each
    series id to (entity pk, is an alarm metric).
    """
    having: set[int] = set()
    levels: dict[int, float] = {}
    for series_id, value in latest_value_by_series(database).items():
        found = series.get(series_id)
        if found is None:
            continue
        having.add(found[0])
        if found[1]:
            levels[found[0]] = value
    return having, levels


def _alert_severity_by_entity(database: Database) -> dict[str, str]:
    """The most severe open (not resolved) alert of each entity."""
    worst: dict[str, str] = {}
    for alert in open_alerts(database):
        entity, severity = alert.get("entity_id"), alert.get("severity", "")
        if entity and severity_rank(severity) > severity_rank(worst.get(entity, "")):
            worst[entity] = severity
    return worst


@dataclass(frozen=True, slots=True)
class Placed:
    """What the map needs of an entity that does not change with its values."""

    pk: int
    entity_id: str
    name: str
    lat: float
    lon: float
    type: str
    area_code: str | None
    agency_code: str | None
    thresholds: tuple[tuple[float, str], ...]  # (level value, state), ascending


class EntityCache:
    """The catalog part of the map, kept in memory (10,000 rows with their JSON attributes
    take ~100 ms to read, far too slow per request). Each use first reads the catalog's
    version (row counts, newest change) — one cheap aggregate query — and reloads when it
    moved, so a change made by any process shows at once without a bus subscription."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._rows: list[Placed] = []
        self._series: dict[int, tuple[int, bool]] = {}
        self._version: CatalogVersion | None = None
        self._lock = threading.Lock()

    def _current_version(self) -> CatalogVersion:
        return catalog_version(self._database)

    def rows(self) -> tuple[list[Placed], dict[int, tuple[int, bool]]]:
        """The placed entities, and series id → (entity pk, is an alarm metric)."""
        version = self._current_version()
        with self._lock:
            if version != self._version:
                self._rows, self._series = self._load()
                self._version = version
            return self._rows, self._series

    def invalidate(self) -> None:
        self._version = None

    def _load(self) -> tuple[list[Placed], dict[int, tuple[int, bool]]]:
        placed = [
            Placed(
                pk,
                entity_id,
                name,
                round(lat, 6),
                round(lon, 6),
                kind,
                area_code,
                agency_code,
                _thresholds((attributes or {}).get("alarm_levels")),
            )
            for pk, entity_id, name, lat, lon, kind, area_code, agency_code, attributes in (
                placed_entities(self._database)
            )
        ]
        series = {
            sid: (pk, name in ALARM_METRICS) for sid, pk, name in series_owners(self._database)
        }
        return placed, series


def entity_rows(
    database: Database,
    principal: Principal,
    *,
    area: str | None = None,
    cache: EntityCache | None = None,
) -> dict[str, Any]:
    """The overview map's data: ``rows`` = [entity_id, name, lat, lon, state, type, area]."""
    states = legend()
    ranks = {s.code: s.rank for s in states}
    placed, series = (cache or EntityCache(database)).rows()
    having, alarm_values = _latest_by_entity(database, series)
    severities = _alert_severity_by_entity(database)
    agencies = None if principal.sees_everything else principal.agencies
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    for entity in placed:
        if area and entity.area_code != area:
            continue
        if agencies is not None and entity.agency_code not in agencies:
            continue
        value = alarm_values.get(entity.pk)
        if value is not None:
            state = _reached(value, entity.thresholds)
        else:
            state = "normal" if entity.pk in having else "nodata"
        severity = severities.get(entity.entity_id)
        if severity is not None and ranks.get(severity, 0) >= ranks[state]:
            state = severity
        append(
            (
                entity.entity_id,
                entity.name,
                entity.lat,
                entity.lon,
                state,
                entity.type,
                entity.area_code,
            )
        )
    return {"colours": {s.code: s.colour for s in states}, "ranks": ranks, "rows": rows}

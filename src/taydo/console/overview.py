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
    get_entity,
    placed_entities,
    series_owners,
)
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import NotFound
from taydo.observations.latest import latest_value_by_series
from taydo.observations.query import latest_values
from taydo.rules.choices import SEVERITIES, aqi_band, severity_rank
from taydo.web.i18n import N_

__all__ = [
    "LEVEL_STATES",
    "EntityCache",
    "Placed",
    "State",
    "alarm_state",
    "entity_card",
    "entity_rows",
    "legend",
    "legend_groups",
]

# Metrics compared with an entity's alarm levels (WaterObserved.height, in metres).
ALARM_METRICS = ("height",)
# The value a marker shows on hover: the alarm metric, else the air-quality index, else the
# entity's first metric with a value (lower rank first).
HEADLINE_RANK = {"height": 0, "aqi": 1}


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


SeriesOwners = dict[int, tuple[int, bool, str]]


def _latest_by_entity(
    database: Database, series: SeriesOwners
) -> tuple[dict[int, tuple[int, float, str]], dict[int, float]]:
    """Each entity's headline value, and the latest alarm-metric value of each entity.

    Reads every series' latest value (one row per series, no join): ``series`` maps each
    series id to (entity pk, is an alarm metric, metric name). The headline of an entity is
    (rank, value, metric name) of its best-ranked metric with a value (``HEADLINE_RANK``).
    """
    headline: dict[int, tuple[int, float, str]] = {}
    levels: dict[int, float] = {}
    for series_id, value in latest_value_by_series(database).items():
        found = series.get(series_id)
        if found is None:
            continue
        pk, alarm, metric = found
        rank = HEADLINE_RANK.get(metric, 9)
        known = headline.get(pk)
        if known is None or (rank, metric) < (known[0], known[2]):
            headline[pk] = (rank, value, metric)
        if alarm:
            levels[pk] = value
    return headline, levels


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
        self._series: SeriesOwners = {}
        self._version: CatalogVersion | None = None
        self._lock = threading.Lock()

    def _current_version(self) -> CatalogVersion:
        return catalog_version(self._database)

    def rows(self) -> tuple[list[Placed], SeriesOwners]:
        """The placed entities, and series id → (entity pk, is an alarm metric, metric)."""
        version = self._current_version()
        with self._lock:
            if version != self._version:
                self._rows, self._series = self._load()
                self._version = version
            return self._rows, self._series

    def invalidate(self) -> None:
        self._version = None

    def _load(self) -> tuple[list[Placed], SeriesOwners]:
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
            sid: (pk, name in ALARM_METRICS, name)
            for sid, pk, name in series_owners(self._database)
        }
        return placed, series


def entity_rows(
    database: Database,
    principal: Principal,
    *,
    area: str | None = None,
    cache: EntityCache | None = None,
) -> dict[str, Any]:
    """The overview map's data: ``rows`` = [entity_id, name, lat, lon, state, type, area,
    value, metric]: ``value`` the entity's headline value (rounded to 2 decimals) and
    ``metric`` its index in ``metrics`` (a list of [type, metric name]); both null without a
    value. The metric list is short (one entry per type and metric shown), so each of 10,000
    rows grows by a few bytes only."""
    states = legend()
    ranks = {s.code: s.rank for s in states}
    placed, series = (cache or EntityCache(database)).rows()
    headline, alarm_values = _latest_by_entity(database, series)
    metrics: list[tuple[str, str]] = []
    metric_index: dict[tuple[str, str], int] = {}
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
            state = "normal" if entity.pk in headline else "nodata"
        shown = headline.get(entity.pk)
        index: int | None = None
        if shown is not None:
            key = (entity.type, shown[2])
            index = metric_index.get(key)
            if index is None:
                index = metric_index[key] = len(metrics)
                metrics.append(key)
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
                round(shown[1], 2) if shown is not None else None,
                index,
            )
        )
    return {
        "colours": {s.code: s.colour for s in states},
        "ranks": ranks,
        "metrics": metrics,
        "rows": rows,
    }


# Metrics whose value is read as a VN_AQI band (the AQI tracker's derived metrics).
AQI_METRICS = ("aqi", "aqi_daily")
CARD_METRICS = 6  # the most metrics a popup lists (the station page shows them all)


def entity_card(database: Database, principal: Principal, entity_id: str) -> dict[str, Any]:
    """What a map popup shows of one entity: its state, each metric's latest value with its
    unit, level in words (alarm level or VN_AQI band) and time, and its most severe open
    alert. 404 as for a missing entity when it is outside the caller's agencies."""
    entity = get_entity(database, entity_id)
    if not principal.may_see_agency(entity.get("agency")):
        raise NotFound(f"entity {entity_id!r} not found")
    states = {s.code: s for s in legend()}
    thresholds = _thresholds((entity.get("attributes") or {}).get("alarm_levels"))
    latest = {v.metric: v for v in latest_values(database, entity_id=entity_id)}
    metrics: list[dict[str, Any]] = []
    state = "nodata"
    for metric in entity.get("metrics", []):
        found = latest.get(metric["name"])
        level: State | None = None
        if found is not None:
            if state == "nodata":
                state = "normal"
            if metric["name"] in ALARM_METRICS and thresholds:
                level = states[_reached(found.value, thresholds)]
                if level.rank > states[state].rank:
                    state = level.code
            elif metric["name"] in AQI_METRICS:
                band = aqi_band(found.value)
                level = State(band.code, band.vi, band.en, band.colour, band.rank)
        metrics.append(
            {
                "name": metric["name"],
                "unit": metric.get("unit_symbol", ""),
                "value": found.value if found is not None else None,
                "ts": found.ts if found is not None else None,
                "level": level,
                "rank": HEADLINE_RANK.get(metric["name"], 9),
            }
        )
    metrics.sort(key=lambda m: (m["value"] is None, m["rank"], m["name"]))
    worst: dict[str, Any] | None = None
    for alert in open_alerts(database):
        if alert.get("entity_id") != entity_id:
            continue
        if worst is None or severity_rank(alert.get("severity", "")) > severity_rank(
            worst.get("severity", "")
        ):
            worst = alert
    alert_state = states.get(worst.get("severity", "")) if worst is not None else None
    if alert_state is not None and alert_state.rank >= states[state].rank:
        state = alert_state.code
    return {
        "entity_id": entity["entity_id"],
        "name": entity["name"],
        "type": entity["type"],
        "state": states[state],
        "metrics": metrics[:CARD_METRICS],
        "more": max(0, len(metrics) - CARD_METRICS),
        "alert": worst,
        "alert_state": alert_state,
    }

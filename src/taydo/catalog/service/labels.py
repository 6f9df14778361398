"""Words for codes: the one place the console turns a catalog code into what a person reads.

Metric and entity-type labels come from the packs' ``entity_types.yaml``, sector labels from
the packs' ``kpis.yaml`` (``sectors``), the names of provinces no current area code names
(those before the 2025 merger) from the packs' ``dti.yaml`` (``provinces``); pillar labels are
the city's three pillars (plus the KPI framework's own codes), role labels the access
model's; agency, dataset and area names come from the catalog and geography tables. Every
label is a (Vietnamese, English) pair; an unknown code is returned as itself, so a label
never hides data.

The pack files do not change while the server runs (read once per set of packs); the tables do
(an administrator adds an agency), so their names are kept for a short while only
(:data:`TABLE_TTL_S`); a ward's name is read when first asked for (proper names: the same in
both languages).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pluggy import PluginManager

from taydo.catalog.service.agencies import list_agencies, list_datasets
from taydo.catalog.service.packs import load_entity_types
from taydo.core.db import Database
from taydo.core.errors import NotFound
from taydo.core.plugins import packs
from taydo.core.principal import ROLES
from taydo.geo.service import get_area

__all__ = [
    "AQI_METRICS",
    "KINDS",
    "PILLARS",
    "RULE_KINDS",
    "TABLE_TTL_S",
    "Labels",
    "Words",
    "labels_of",
    "words_of",
]

Pair = tuple[str, str]

# Metrics the AQI tracker derives (``taydo.rules.aqi``); they are in no pack's entity types.
AQI_METRICS: dict[str, Pair] = {
    "aqi": ("Chỉ số chất lượng không khí VN_AQI", "Air quality index VN_AQI"),
    "aqi_daily": ("Chỉ số chất lượng không khí VN_AQI ngày", "Daily air quality index VN_AQI"),
}

# The three pillars of the city's digital transformation, under the codes datasets use
# (``government``…) and those of the KPI framework (``chinh-quyen-so``…).
PILLARS: dict[str, Pair] = {
    "government": ("Chính quyền số", "Digital government"),
    "economy": ("Kinh tế số", "Digital economy"),
    "society": ("Xã hội số", "Digital society"),
    "chinh-quyen-so": ("Chính quyền số", "Digital government"),
    "kinh-te-so": ("Kinh tế số", "Digital economy"),
    "xa-hoi-so": ("Xã hội số", "Digital society"),
    "nen-tang": ("Nền tảng số", "Digital foundations"),
}

# The rule kinds of ``taydo.rules`` (the rules engine's table of kinds).
RULE_KINDS: dict[str, Pair] = {
    "threshold": ("Vượt ngưỡng", "Threshold"),
    "rate": ("Tốc độ thay đổi", "Rate of change"),
    "absence": ("Mất tín hiệu", "Absence of data"),
    "composite": ("Kết hợp nhiều điều kiện", "Composite"),
}

# What :meth:`Words.word` knows: ``word("metric", "height")``, ``word("agency", "DKTTV")`` …
KINDS: tuple[str, ...] = (
    "type",
    "metric",
    "sector",
    "pillar",
    "agency",
    "dataset",
    "area",
    "rule_kind",
    "role",
)

TABLE_TTL_S = 30.0


@dataclass(frozen=True)
class Labels:
    """Vietnamese and English labels the packs define: entity types, their metrics, sectors."""

    types: dict[str, Pair]
    metrics: dict[tuple[str, str], Pair]
    # A metric name seen under one type only is labelled the same under a type no pack defines.
    any_type: dict[str, Pair]
    sectors: dict[str, Pair] = field(default_factory=dict)
    provinces: dict[str, Pair] = field(default_factory=dict)

    def type_label(self, type_name: str) -> Pair:
        return self.types.get(type_name, (type_name, type_name))

    def metric_label(self, type_name: str, metric: str) -> Pair:
        found = self.metrics.get((type_name, metric)) or AQI_METRICS.get(metric)
        return found or self.any_type.get(metric, (metric, metric))


def _named(data_dir: Path, file_name: str, key: str) -> dict[str, Pair]:
    """``code → (name, name_en)`` of the list ``key`` of a pack file (sectors, provinces)."""
    path = data_dir / file_name
    if not path.exists():
        return {}
    # kpis.yaml is long (every KPI); the C loader reads it in a tenth of the time.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}  # noqa: S506
    found: dict[str, Pair] = {}
    for item in data.get(key) or [] if isinstance(data, dict) else []:
        if isinstance(item, dict) and item.get("code") and item.get("name"):
            found[str(item["code"])] = (str(item["name"]), str(item.get("name_en") or item["name"]))
    return found


@cache
def _labels(data_dirs: tuple[Path, ...]) -> Labels:
    types: dict[str, Pair] = {}
    metrics: dict[tuple[str, str], Pair] = {}
    any_type: dict[str, Pair] = {}
    sectors: dict[str, Pair] = {}
    provinces: dict[str, Pair] = {}
    for data_dir in data_dirs:
        for type_name, spec in load_entity_types(data_dir).items():
            types[type_name] = (spec.label, spec.label_en or spec.label)
            for name, metric in spec.metrics.items():
                pair = (metric.label, metric.label_en or metric.label)
                metrics[(type_name, name)] = pair
                any_type.setdefault(name, pair)
        sectors.update(_named(data_dir, "kpis.yaml", "sectors"))
        provinces.update(_named(data_dir, "dti.yaml", "provinces"))
    return Labels(types, metrics, any_type, sectors, provinces)


def labels_of(plugins: PluginManager) -> Labels:
    """The labels of every pack the plugins provide."""
    return _labels(tuple(pack.data_dir for _name, pack in sorted(packs(plugins).items())))


@dataclass(frozen=True)
class Words:
    """Every label the console shows for a code: the packs' and the tables' names. Areas
    (thousands of units nationwide) are looked up one code at a time and kept."""

    labels: Labels
    agencies: dict[str, Pair]
    datasets: dict[str, Pair]
    database: Database | None = None
    areas: dict[str, Pair | None] = field(default_factory=dict)

    def area(self, code: str) -> Pair | None:
        if code not in self.areas and self.database is not None:
            try:
                name = get_area(self.database, code)["name"]
            except NotFound:
                name = None
            self.areas[code] = (name, name) if name else None
        return self.areas.get(code)

    def pair(self, kind: str, code: str | None, type_name: str = "") -> Pair | None:
        """(vi, en) of a code of a kind (one of :data:`KINDS`), None when nothing names it."""
        if code is None or code == "":
            return None
        code = str(code)
        if kind == "metric":
            found = self.labels.metric_label(type_name, code)
            return None if found == (code, code) else found
        if kind == "area":
            code = code.removeprefix("area:")
            return self.labels.provinces.get(code) or self.area(code)
        table: dict[str, Pair] = {
            "type": self.labels.types,
            "sector": self.labels.sectors,
            "pillar": PILLARS,
            "rule_kind": RULE_KINDS,
            "role": ROLES,
            "agency": self.agencies,
            "dataset": self.datasets,
        }.get(kind, {})
        return table.get(code)

    def word(self, kind: str, code: str | None, language: str = "vi", type_name: str = "") -> str:
        """The label of a code in a language; the code itself when nothing names it, "—" for
        no code at all."""
        if code is None or code == "":
            return "—"
        found = self.pair(kind, code, type_name)
        if found is None:
            return str(code)
        return found[1] if language.startswith("en") else found[0]

    def as_json(self) -> dict[str, Any]:
        """The labels for the console's scripts (``{kind: {code: [vi, en]}}``)."""
        return {
            "type": self.labels.types,
            "metric": self.labels.any_type | AQI_METRICS,
            "sector": self.labels.sectors,
            "pillar": PILLARS,
            "rule_kind": RULE_KINDS,
            "role": ROLES,
            "agency": self.agencies,
            "dataset": self.datasets,
            "area": {k: v for k, v in self.areas.items() if v is not None},
        }


_cache: dict[tuple[str, int], tuple[float, Words]] = {}
_refreshing: set[tuple[str, int]] = set()
_lock = threading.Lock()


def _tables(database: Database) -> tuple[dict[str, Pair], dict[str, Pair]]:
    agencies_found, _ = list_agencies(database, limit=100_000)
    datasets_found, _ = list_datasets(database, limit=100_000)
    agencies = {a["code"]: (a["name"], a.get("name_en") or a["name"]) for a in agencies_found}
    datasets = {d["code"]: (d["name"], d.get("name_en") or d["name"]) for d in datasets_found}
    return agencies, datasets


def _refresh(key: tuple[str, int], database: Database, plugins: PluginManager) -> Words:
    words = Words(labels_of(plugins), *_tables(database), database=database)
    with _lock:
        _cache[key] = (time.monotonic(), words)
        _refreshing.discard(key)
    return words


def words_of(database: Database, plugins: PluginManager) -> Words:
    """The words of this IOC: the packs' labels and the tables' names. After the first read
    (made at start by the catalog domain), a page never waits: words older than
    :data:`TABLE_TTL_S` are served while a background thread reads them again."""
    key = (str(database.url), id(plugins))
    with _lock:
        held = _cache.get(key)
        stale = held is not None and time.monotonic() - held[0] >= TABLE_TTL_S
        start = stale and key not in _refreshing
        if start:
            _refreshing.add(key)
    if held is None:
        return _refresh(key, database, plugins)
    if start:
        threading.Thread(
            target=_refresh, args=(key, database, plugins), daemon=True, name="taydo-words"
        ).start()
    return held[1]

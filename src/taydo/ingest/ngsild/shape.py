"""Shaping NGSI-LD answers: ``pick``/``omit`` projection, ``orderBy``, ``lang`` on
LanguageProperties, and the GeoJSON representation (``Accept: application/geo+json``).

All of it works on entities already rendered in the caller's context, so names given by the
caller (terms of its context, or full IRIs) are compared by their expanded IRI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from taydo.ingest.ngsild.context import Context
from taydo.ingest.ngsild.errors import NgsiError

__all__ = [
    "GEOJSON",
    "Order",
    "Projection",
    "concise",
    "feature",
    "feature_collection",
    "parse_order",
    "parse_projection",
    "sort_key",
]

GEOJSON = "application/geo+json"
ENTITY_KEYS = ("id", "type")
MAX_ORDER_TERMS = 8


def _names(value: str | list[Any] | None, what: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, str | list):
        raise NgsiError("BadRequestData", f"{what} must be a list of names")
    parts = value.split(",") if isinstance(value, str) else value
    names = [p.strip() for p in parts if isinstance(p, str) and p.strip()]
    if not names or len(names) != len(parts):
        raise NgsiError("BadRequestData", f"{what} must be a non-empty list of names")
    return names


@dataclass(frozen=True)
class Projection:
    """``pick`` (keep only these members) or ``omit`` (drop these), never both (§4.21)."""

    keep: frozenset[str] | None
    drop: frozenset[str]

    def apply(self, entity: dict[str, Any], context: Context) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in entity.items():
            name = key if key in ENTITY_KEYS or key.startswith("@") else context.expand(key)
            if key.startswith("@"):
                out[key] = value
            elif (self.keep is not None and name not in self.keep) or name in self.drop:
                continue
            else:
                out[key] = value
        return out


def parse_projection(
    pick: str | list[Any] | None, omit: str | list[Any] | None, context: Context
) -> Projection | None:
    picked, omitted = _names(pick, "pick"), _names(omit, "omit")
    if picked is not None and omitted is not None:
        raise NgsiError("BadRequestData", "give pick or omit, not both")
    if picked is None and omitted is None:
        return None

    def expand(names: list[str]) -> frozenset[str]:
        return frozenset(n if n in ENTITY_KEYS else context.expand(n) for n in names)

    return Projection(
        expand(picked) if picked is not None else None,
        expand(omitted) if omitted is not None else frozenset(),
    )


# -- orderBy ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Order:
    """``orderBy=name[,!name…]``: attributes (or ``id``, ``type``) to sort by, ``!`` before a
    name for descending. Entities without the attribute come last in either direction;
    values of different kinds sort numbers, then text, then true/false, then the rest."""

    terms: tuple[tuple[str, bool], ...]  # (name as the caller gave it, descending)


def parse_order(value: str | None) -> Order | None:
    if value is None:
        return None
    terms: list[tuple[str, bool]] = []
    for part in value.split(","):
        part = part.strip()
        descending = part.startswith("!")
        name = part[1:].strip() if descending else part
        if not name or any(c in name for c in " ;()<>=\"'"):
            raise NgsiError("BadRequestData", f"orderBy: bad term {part[:60]!r}")
        terms.append((name, descending))
    if len(terms) > MAX_ORDER_TERMS:
        raise NgsiError("BadRequestData", f"orderBy takes at most {MAX_ORDER_TERMS} terms")
    return Order(tuple(terms))


class _Key:
    """One term of a sort key: (missing, kind, value), reversed for descending but with
    missing values kept last."""

    __slots__ = ("descending", "kind", "missing", "value")

    def __init__(self, value: Any, missing: bool, descending: bool) -> None:
        self.missing, self.descending = missing, descending
        self.kind: int
        self.value: Any
        if isinstance(value, dict) and "@value" in value:
            value = value["@value"]
        if isinstance(value, bool):
            self.kind, self.value = 2, value
        elif isinstance(value, int | float):
            self.kind, self.value = 0, float(value)
        elif isinstance(value, str):
            self.kind, self.value = 1, value
        else:
            self.kind, self.value = 3, orjson.dumps(value, option=orjson.OPT_SORT_KEYS)

    def __lt__(self, other: _Key) -> bool:
        if self.missing or other.missing:
            return other.missing and not self.missing
        mine, theirs = (self.kind, self.value), (other.kind, other.value)
        if mine == theirs:
            return False
        return bool(mine > theirs) if self.descending else bool(mine < theirs)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Key):
            return NotImplemented
        if self.missing or other.missing:
            return self.missing == other.missing
        return (self.kind, self.value) == (other.kind, other.value)

    __hash__ = None  # type: ignore[assignment]


def sort_key(order: Order, get: Any) -> tuple[_Key, ...]:
    """The key of one entity; ``get(name)`` gives (value, missing) for a caller's name."""
    keys = []
    for name, descending in order.terms:
        value, missing = get(name)
        keys.append(_Key(value, missing, descending))
    return tuple(keys)


# -- GeoJSON ----------------------------------------------------------------------------


def feature(
    entity: dict[str, Any],
    geometry_name: str,
    *,
    key_values: bool,
    context_value: Any = None,
) -> dict[str, Any]:
    """An entity as a GeoJSON Feature: its id, its geometry (the value of the GeoProperty
    ``geometry_name``, null without one) and every member as a property."""
    properties = {k: v for k, v in entity.items() if k not in ("id", "@context")}
    geo = entity.get(geometry_name)
    if not key_values and isinstance(geo, dict) and geo.get("type") == "GeoProperty":
        geo = geo.get("value")
    out: dict[str, Any] = {
        "id": entity.get("id"),
        "type": "Feature",
        "geometry": geo if isinstance(geo, dict) and "coordinates" in geo else None,
        "properties": properties,
    }
    if context_value is not None:
        out["@context"] = context_value
    return out


def feature_collection(features: list[dict[str, Any]], context_value: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features, "@context": context_value}


ENTITY_MEMBERS = frozenset({"id", "type", "scope", "@context", "createdAt", "modifiedAt"})


def concise(entity: dict[str, Any]) -> dict[str, Any]:
    """The concise form of a normalized entity (§4.5.x, ``options=concise``): each
    attribute (and sub-attribute) without its ``type``, which the member holding its value
    implies (``value``, ``object``, ``languageMap`` …); a Property or GeoProperty with
    nothing but a value becomes that value (a Property's JSON object value keeps its
    ``value`` member, or it would read as an attribute)."""
    out: dict[str, Any] = {}
    for name, attr in entity.items():
        if name in ENTITY_MEMBERS:
            out[name] = attr
        elif isinstance(attr, list):
            out[name] = [_concise_attr(a) for a in attr]
        else:
            out[name] = _concise_attr(attr)
    return out


def _concise_attr(attr: Any) -> Any:
    if not isinstance(attr, dict) or not isinstance(attr.get("type"), str):
        return attr
    kind = attr["type"]
    rest = {k: v for k, v in attr.items() if k != "type"}
    if set(rest) == {"value"} and (
        (kind == "Property" and not isinstance(rest["value"], dict | list)) or kind == "GeoProperty"
    ):
        return rest["value"]
    return {
        k: _concise_attr(v) if isinstance(v, dict) and k not in _VALUE_MEMBERS else v
        for k, v in rest.items()
    }


_VALUE_MEMBERS = frozenset({"value", "object", "languageMap", "vocab", "json", "valueList",
                            "objectList", "entity"})  # fmt: skip

"""NGSI-LD entities ↔ catalog entities: validation of incoming fragments and rendering.

A catalog entity keeps each attribute's *value* under its name in ``attributes`` (so other
domains read ``attributes["refDevice"]`` or ``attributes["alarm_levels"]`` plainly) and the
NGSI-LD rest of it (type unless Property, unitCode, observedAt, sub-attributes) under
``attributes["_ngsild"]["meta"][name]``, next to the entity's @context
(``attributes["_ngsild"]["@context"]``). Names are stored compacted with the entity's own
context and translated to the caller's context on the way out. An entity made by the catalog
(no ``_ngsild``) has plain names: they are shown as they are under any context.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from taydo.ingest.ngsild.context import Context
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.query import geometry_of, point_of

__all__ = [
    "NGSI",
    "ParsedEntity",
    "attr_items",
    "check_entity_id",
    "entity_context_value",
    "geometry_of",
    "observed_ms",
    "parse_attributes",
    "parse_entity",
    "parse_scope",
    "primary_member",
    "render_attribute",
    "translate",
]

NGSI = "_ngsild"  # the key in catalog attributes that holds NGSI-LD details
PRIMARY = {
    "Property": "value",
    "GeoProperty": "value",
    "Relationship": "object",
    "ListRelationship": "objectList",
    "LanguageProperty": "languageMap",
    "JsonProperty": "json",
    "ListProperty": "valueList",
    "VocabProperty": "vocab",
}
ENTITY_MEMBERS = {"id", "type", "@context", "scope", "createdAt", "modifiedAt", "deletedAt"}
SYSTEM_MEMBERS = {"createdAt", "modifiedAt", "deletedAt", "instanceId"}
MAX_DEPTH = 32
MAX_NAME = 255
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`\x00-\x1f\x7f]+$")
_BAD_NAME = re.compile(r"[\s<>\"'=;()\[\]\x00-\x1f\x7f]")


def _bad(detail: str) -> NgsiError:
    return NgsiError("BadRequestData", detail)


def check_entity_id(value: Any) -> str:
    if not isinstance(value, str) or not _URI.match(value) or len(value) > MAX_NAME:
        raise _bad(f"id phải là một URI / the entity id must be a URI: {str(value)[:80]!r}")
    return value


_GOOD_NAMES: set[str] = set()  # names already checked (a feed repeats the same few)


def _check_name(name: str, what: str) -> str:
    if name in _GOOD_NAMES:
        return name
    if not name or len(name) > MAX_NAME or _BAD_NAME.search(name):
        raise _bad(f"{what} không hợp lệ / invalid {what}: {name[:80]!r}")
    if len(_GOOD_NAMES) < 50_000:
        _GOOD_NAMES.add(name)
    return name


# Tuples of types built once: ``X | Y`` in isinstance builds a union object at every call.
_TEXT_OR_INT = (str, int)
_SCALARS = (str, int, bool)
_SIMPLE_KEYS = frozenset({"type", "value", "observedAt", "unitCode"})


def _simple_property(raw: dict[str, Any]) -> dict[str, Any] | None:
    """The common Property — a number or text, maybe observedAt and unitCode — checked
    without the general walk; None sends anything else down the general path."""
    if raw.get("type") != "Property" or not _SIMPLE_KEYS.issuperset(raw):
        return None
    value = raw.get("value")
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
    elif not isinstance(value, _TEXT_OR_INT):  # bool is an int: fine too
        return None
    when = raw.get("observedAt")
    if when is not None and (not isinstance(when, str) or _ms_of_text(when) is None):
        return None
    unit = raw.get("unitCode")
    if unit is not None and (not isinstance(unit, str) or not 0 < len(unit) <= 32):
        return None
    return dict(raw)


def _check_json(value: Any, where: str, depth: int = 0) -> None:
    """JSON values the database can store: finite numbers, bounded depth."""
    if isinstance(value, _SCALARS) or value is None:
        return
    if depth > MAX_DEPTH:
        raise _bad(f"{where}: value nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, float) and not math.isfinite(value):
        raise _bad(f"{where}: numbers must be finite")
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                raise _bad(f"{where}: NUL character in a member name")
            _check_json(item, where, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, where, depth + 1)


def translate(name: str, source: Context | None, target: Context | None) -> str:
    """A term from one context to another (None = plain names, kept as they are)."""
    if source is None or target is None:
        return name
    if source is target:
        return target.normalize(name)
    return target.compact(source.expand(name))


def parse_time(value: Any, where: str) -> datetime:
    if isinstance(value, dict) and "@value" in value:
        value = value["@value"]
    if not isinstance(value, str) or len(value) > 64:
        raise _bad(f"{where}: expected an ISO 8601 date-time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise _bad(f"{where}: not an ISO 8601 date-time: {value[:64]!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # NGSI-LD times are UTC
    if not 1970 <= moment.astimezone(UTC).year <= 2200:
        raise _bad(f"{where}: date-time out of range (1970–2200)")
    return moment


@lru_cache(maxsize=4096)
def _ms_of_text(text: str) -> int | None:
    try:
        return int(parse_time(text, "").timestamp() * 1000)
    except NgsiError:
        return None


def observed_ms(value: Any, name: str) -> int:
    """Epoch ms of attribute ``name``'s observation time (``name`` words only the error)."""
    # A batch usually shares a handful of time stamps: parse each text once.
    if isinstance(value, str):
        found = _ms_of_text(value)
        if found is not None:
            return found
    return int(parse_time(value, f"attribute {name[:80]!r} time").timestamp() * 1000)


def primary_member(kind: str) -> str:
    return PRIMARY.get(kind, "value")


def _parse_attribute(
    name: str, raw: Any, request: Context | None, target: Context | None
) -> dict[str, Any]:
    if isinstance(raw, dict):
        simple = _simple_property(raw)
        if simple is not None:
            return simple
        if "datasetId" in raw:
            return _multi_attribute(name, [raw], request, target)
    where = f"attribute {name[:80]!r}"
    if isinstance(raw, list):
        return _multi_attribute(name, raw, request, target)
    if not isinstance(raw, dict):
        raise _bad(f"{where}: expected an object with type and value (normalized form)")
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in PRIMARY:
        # Lenient on a type that is not an NGSI-LD attribute type ("string" in a few Smart
        # Data Models examples): an object with a value is read as a Property.
        if "value" not in raw or not isinstance(kind, str):
            raise _bad(f"{where}: type must be one of {', '.join(PRIMARY)}")
        kind = "Property"
    member = PRIMARY[kind]
    if member not in raw or raw[member] is None:
        raise _bad(f"{where}: a {kind} needs {member!r}")
    out: dict[str, Any] = {"type": kind}
    for key, item in raw.items():
        if key == "type" or key in SYSTEM_MEMBERS:
            continue
        if key == member:
            if kind == "GeoProperty":
                if point_of(item) is None:  # a valid Point needs no further checks
                    _check_json(item, where)
                    geometry_of(item)
            else:
                _check_json(item, where)
            if kind == "Relationship" and not (
                isinstance(item, str) or (isinstance(item, list) and item)
            ):
                raise _bad(f"{where}: object must be a URI or a list of URIs")
            out[key] = item
        elif key == "observedAt":
            parse_time(item, f"{where} observedAt")
            out[key] = item
        elif key == "unitCode":
            if not isinstance(item, str) or not 0 < len(item) <= 32:
                raise _bad(f"{where}: unitCode must be a short text code")
            out[key] = item
        elif key in ("value", "object", "lang"):
            _check_json(item, where)
            out[key] = item
        else:
            sub = translate(_check_name(key, "sub-attribute name"), request, target)
            _check_json(item, where)
            out[sub] = (
                _parse_attribute(key, item, request, target)
                if isinstance(item, dict) and ("value" in item or "object" in item)
                else item
            )
    return out


DATASETS = "@datasets"  # in a parsed attribute: its instances that have a datasetId
MAX_INSTANCES = 100


def _multi_attribute(
    name: str, raw: list[Any], request: Context | None, target: Context | None
) -> dict[str, Any]:
    """A multi-attribute (§4.5.5): instances told apart by ``datasetId``, at most one
    without (the default instance). Parsed as the default instance (when there is one) with
    the others under ``@datasets``, by datasetId."""
    where = f"attribute {name[:80]!r}"
    if not raw or len(raw) > MAX_INSTANCES:
        raise _bad(f"{where}: a multi-attribute has 1 to {MAX_INSTANCES} instances")
    default: dict[str, Any] | None = None
    instances: dict[str, dict[str, Any]] = {}
    for item in raw:
        if not isinstance(item, dict):
            raise _bad(f"{where}: each instance is an object")
        dataset = item.get("datasetId")
        parsed = _parse_attribute(
            name, {k: v for k, v in item.items() if k != "datasetId"}, request, target
        )
        if dataset is None:
            if default is not None:
                raise _bad(f"{where}: only one instance may lack a datasetId")
            default = parsed
            continue
        if not isinstance(dataset, str) or not _URI.match(dataset) or len(dataset) > MAX_NAME:
            raise _bad(f"{where}: datasetId must be a URI")
        if dataset in instances:
            raise _bad(f"{where}: datasetId {dataset[:80]!r} given twice")
        instances[dataset] = {**parsed, "datasetId": dataset}
    out = dict(default) if default is not None else {"type": next(iter(instances.values()))["type"]}
    if instances:
        out[DATASETS] = instances
    return out


def parse_attributes(
    fragment: dict[str, Any], request: Context | None, target: Context | None
) -> dict[str, dict[str, Any]]:
    """Attributes of an entity fragment, names translated to ``target``'s context."""
    attrs: dict[str, dict[str, Any]] = {}
    for key, raw in fragment.items():
        if key in ENTITY_MEMBERS:
            continue
        name = translate(_check_name(key, "attribute name"), request, target)
        if name == NGSI:
            raise _bad(f"attribute name {NGSI} is reserved")
        attrs[name] = _parse_attribute(key, raw, request, target)
    return attrs


@dataclass
class ParsedEntity:
    entity_id: str
    type: str  # the first type: the catalog's
    attrs: dict[str, dict[str, Any]] = field(default_factory=dict)
    context_value: Any = None
    more_types: list[str] = field(default_factory=list)  # a multi-typed entity's others
    scope: list[str] | None = None  # None: not given; [NULL]: delete (merge)


_SCOPE = re.compile(r"^(?:/[^/\s#+,;|()\x00-\x1f]+)+$")
MAX_SCOPES = 100
NULL_VALUE = "urn:ngsi-ld:null"


def parse_scope(raw: Any) -> list[str]:
    """``scope`` (§4.18): one scope or an array of them, each a path such as
    ``/CanTho/NinhKieu``."""
    if raw == NULL_VALUE:
        return [NULL_VALUE]
    scopes = [raw] if isinstance(raw, str) else raw
    if not isinstance(scopes, list) or not scopes or len(scopes) > MAX_SCOPES:
        raise _bad("scope must be a scope or a non-empty array of scopes")
    out: list[str] = []
    for scope in scopes:
        if not isinstance(scope, str) or len(scope) > MAX_NAME or not _SCOPE.match(scope):
            raise _bad(f"invalid scope {str(scope)[:80]!r} (e.g. /CanTho/NinhKieu)")
        if scope not in out:
            out.append(scope)
    return out


def _types_of(kind: Any, request: Context, require_type: bool) -> list[str]:
    if kind is None and not require_type:
        return [""]
    kinds = kind if isinstance(kind, list) else [kind]
    if not kinds or len(kinds) > 16 or not all(isinstance(k, str) for k in kinds):
        raise _bad("type must be an entity type name or a non-empty array of them")
    out: list[str] = []
    for raw in kinds:
        name = request.normalize(_check_name(raw, "entity type"))
        if len(name) > 80:
            raise _bad(f"entity type too long (80 characters at most): {name[:80]!r}")
        if name not in out:
            out.append(name)
    return out


def parse_entity(raw: Any, request: Context, *, require_type: bool = True) -> ParsedEntity:
    if not isinstance(raw, dict):
        raise _bad("an entity must be a JSON object")
    entity_id = check_entity_id(raw.get("id"))
    kinds = _types_of(raw.get("type"), request, require_type)
    scope = parse_scope(raw["scope"]) if "scope" in raw else None
    return ParsedEntity(
        entity_id,
        kinds[0],
        parse_attributes(raw, request, request),
        request.value,
        kinds[1:],
        scope,
    )


def entity_context_value(attributes: dict[str, Any]) -> tuple[bool, Any]:
    """(whether the entity has NGSI-LD details, its stored @context value)."""
    details = attributes.get(NGSI)
    if not isinstance(details, dict) or details.get("plain"):
        return False, None
    return True, details.get("@context")


def attr_items(attributes: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Each stored attribute as (name, normalized NGSI-LD attribute)."""
    details = attributes.get(NGSI)
    meta = details.get("meta", {}) if isinstance(details, dict) else {}
    out = []
    for name, value in attributes.items():
        if name == NGSI:
            continue
        extra = meta.get(name) or {}
        kind = extra.get("type", "Property")
        attr = {"type": kind, primary_member(kind): value}
        attr.update((k, v) for k, v in extra.items() if k != "type")
        out.append((name, attr))
    return out


def render_attribute(
    attr: dict[str, Any], source: Context | None, target: Context | None, key_values: bool
) -> Any:
    kind = attr.get("type", "Property")
    primary = attr.get(primary_member(kind))
    if key_values:
        # A typed literal ({"@type": "DateTime", "@value": …}) is given as its text in the
        # simplified form, as the Smart Data Models key-values examples show it.
        if (
            isinstance(primary, dict)
            and "@value" in primary
            and set(primary) <= {"@type", "@value"}
        ):
            return primary["@value"]
        return primary
    out: dict[str, Any] = {}
    for key, item in attr.items():
        if key in ("type", "value", "object", "observedAt", "unitCode", "datasetId", "lang") or (
            key in PRIMARY.values()
        ):
            out[key] = item
        elif isinstance(item, dict) and "type" in item:
            out[translate(key, source, target)] = render_attribute(item, source, target, False)
        else:
            out[translate(key, source, target)] = item
    return out


def split_for_storage(attrs: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(values by name, NGSI-LD details by name) — a bare Property has no details."""
    values: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    for name, attr in attrs.items():
        kind = attr["type"]
        member = PRIMARY.get(kind, "value")
        values[name] = attr.get(member)
        if kind == "Property" and len(attr) - (member in attr) == 1:
            continue  # only its type and value: nothing else to keep
        extra = attr.copy()  # a C-level copy, then drop one key: faster than a comprehension
        extra.pop(member, None)
        meta[name] = extra
    return values, meta


def now_utc() -> datetime:
    return datetime.now(UTC)

"""NGSI-LD discovery (ETSI GS CIM 009 §5.7.5–5.7.10): which entity types and attributes the
broker holds, as ``EntityTypeList``/``EntityType``/``EntityTypeInfo`` and
``AttributeList``/``Attribute``.

Answered from the catalog in the caller's scope: an agency officer discovers only what their
agencies hold. Names are compared by their full IRI (each entity's own context expands them)
and shown compacted with the caller's context, so a type written as ``WaterQualityObserved``
under the Smart Data Models context and read under the core context shows as its IRI.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from taydo.catalog import service as catalog
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.ingest.ngsild.context import Context, ContextResolver
from taydo.ingest.ngsild.entity import attr_items
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.read import entity_members, stored_of

__all__ = ["Survey", "attribute_info", "attribute_list", "survey", "type_info", "type_list"]


@dataclass
class _Seen:
    count: int = 0
    kinds: set[str] = field(default_factory=set)  # Property, Relationship, GeoProperty …
    names: set[str] = field(default_factory=set)  # attribute IRIs (of a type) or type IRIs


@dataclass
class Survey:
    """Every type and attribute in scope, by IRI."""

    types: dict[str, _Seen]
    attributes: dict[str, _Seen]
    # per type, per attribute: how many entities of the type have it and its kinds
    type_attributes: dict[str, dict[str, _Seen]]


def survey(database: Database, resolver: ContextResolver, principal: Principal) -> Survey:
    types: dict[str, _Seen] = defaultdict(_Seen)
    attributes: dict[str, _Seen] = defaultdict(_Seen)
    per_type: dict[str, dict[str, _Seen]] = defaultdict(lambda: defaultdict(_Seen))
    # Entities written without a context (the catalog API, the console) use the core one.
    core = resolver.core
    with closing(catalog.entity_records(database, principal, catalog.EntitySelection())) as rows:
        for row in rows:
            entity = stored_of(row, resolver)
            context = entity.context or core
            # A multi-typed entity is an entity of each of its types (§4.16).
            more = entity_members(entity)[0]
            type_iris = list(dict.fromkeys(context.expand(t) for t in [entity.type, *more]))
            items = attr_items(entity.attributes)
            if "location" not in entity.attributes and entity.lon is not None:
                items.append(("location", {"type": "GeoProperty"}))
            for type_iri in type_iris:
                types[type_iri].count += 1
            for name, attr in items:
                iri = context.expand(name)
                kind = str(attr.get("type", "Property"))
                seen = attributes[iri]
                seen.count += 1
                seen.kinds.add(kind)
                for type_iri in type_iris:
                    types[type_iri].names.add(iri)
                    seen.names.add(type_iri)
                    of_type = per_type[type_iri][iri]
                    of_type.count += 1
                    of_type.kinds.add(kind)
    return Survey(dict(types), dict(attributes), {k: dict(v) for k, v in per_type.items()})


def type_list(found: Survey, target: Context, *, details: bool) -> Any:
    if not details:
        return {
            "id": "urn:ngsi-ld:EntityTypeList:taydo",
            "type": "EntityTypeList",
            "typeList": sorted(target.compact(iri) for iri in found.types),
        }
    return [
        {
            "id": iri,
            "type": "EntityType",
            "typeName": target.compact(iri),
            "attributeNames": sorted(target.compact(a) for a in seen.names),
        }
        for iri, seen in sorted(found.types.items())
    ]


def _find(table: dict[str, _Seen], name: str, target: Context, what: str) -> str:
    iri = target.expand(name)
    if iri in table:
        return iri
    if name in table:  # already an IRI the caller's context cannot compact
        return name
    raise NgsiError("ResourceNotFound", f"không có {what} / no {what} {name[:200]}")


def type_info(found: Survey, target: Context, name: str) -> dict[str, Any]:
    iri = _find(found.types, name, target, "entity type")
    return {
        "id": iri,
        "type": "EntityTypeInfo",
        "typeName": target.compact(iri),
        "entityCount": found.types[iri].count,
        "attributeDetails": [
            {
                "id": attr,
                "type": "Attribute",
                "attributeName": target.compact(attr),
                "attributeTypes": sorted(seen.kinds),
            }
            for attr, seen in sorted(found.type_attributes.get(iri, {}).items())
        ],
    }


def _attribute(found: Survey, target: Context, iri: str) -> dict[str, Any]:
    seen = found.attributes[iri]
    return {
        "id": iri,
        "type": "Attribute",
        "attributeName": target.compact(iri),
        "attributeCount": seen.count,
        "attributeTypes": sorted(seen.kinds),
        "typeNames": sorted(target.compact(t) for t in seen.names),
    }


def attribute_list(found: Survey, target: Context, *, details: bool) -> Any:
    if not details:
        return {
            "id": "urn:ngsi-ld:AttributeList:taydo",
            "type": "AttributeList",
            "attributeList": sorted(target.compact(iri) for iri in found.attributes),
        }
    return [_attribute(found, target, iri) for iri in sorted(found.attributes)]


def attribute_info(found: Survey, target: Context, name: str) -> dict[str, Any]:
    return _attribute(found, target, _find(found.attributes, name, target, "attribute"))

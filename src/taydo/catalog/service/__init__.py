"""Catalog services: agencies, datasets, entities with their metrics, and pack loading.

Plain functions taking a ``Database``; writes take the calling ``Principal`` (None for the
system itself, e.g. the pack loader) and enforce agency scope here, not in the API.
"""

from taydo.catalog.service.agencies import (
    create_agency,
    create_dataset,
    delete_agency,
    delete_dataset,
    get_agency,
    get_dataset,
    list_agencies,
    list_datasets,
    update_agency,
    update_dataset,
)
from taydo.catalog.service.common import UNIT_SYMBOLS
from taydo.catalog.service.entities import (
    assign_areas,
    create_entity,
    delete_entity,
    delete_metric,
    get_entity,
    list_entities,
    put_metric,
    update_entity,
)
from taydo.catalog.service.packs import EntityType, MetricSpec, load_entity_types, load_pack

__all__ = [
    "UNIT_SYMBOLS",
    "EntityType",
    "MetricSpec",
    "assign_areas",
    "create_agency",
    "create_dataset",
    "create_entity",
    "delete_agency",
    "delete_dataset",
    "delete_entity",
    "delete_metric",
    "get_agency",
    "get_dataset",
    "get_entity",
    "list_agencies",
    "list_datasets",
    "list_entities",
    "load_entity_types",
    "load_pack",
    "put_metric",
    "update_agency",
    "update_dataset",
    "update_entity",
]

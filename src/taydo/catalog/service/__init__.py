"""Catalog services: agencies, datasets, entities with their metrics, and pack loading.

Entities and metrics are written here only: one at a time (``entities``) or a batch at a time
in the caller's transaction (``bulk``: NGSI-LD batch operations).

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
from taydo.catalog.service.bulk import (
    AttributesUpdate,
    EntityInsert,
    EntityUpdate,
    LockedEntity,
    MetricRow,
    agency_id_of,
    delete_entities,
    insert_entities,
    insert_metrics,
    lock_entities,
    metrics_of,
    update_attributes,
    update_entities,
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
from taydo.catalog.service.placement import (
    CatalogVersion,
    PlacedEntity,
    SeriesOwner,
    catalog_version,
    entities_per_area,
    placed_entities,
    series_owners,
)
from taydo.catalog.service.series_names import series_by_name

__all__ = [
    "UNIT_SYMBOLS",
    "AttributesUpdate",
    "CatalogVersion",
    "EntityInsert",
    "EntityType",
    "EntityUpdate",
    "LockedEntity",
    "MetricRow",
    "MetricSpec",
    "PlacedEntity",
    "SeriesOwner",
    "agency_id_of",
    "assign_areas",
    "catalog_version",
    "create_agency",
    "create_dataset",
    "create_entity",
    "delete_agency",
    "delete_dataset",
    "delete_entities",
    "delete_entity",
    "delete_metric",
    "entities_per_area",
    "get_agency",
    "get_dataset",
    "get_entity",
    "insert_entities",
    "insert_metrics",
    "list_agencies",
    "list_datasets",
    "list_entities",
    "load_entity_types",
    "load_pack",
    "lock_entities",
    "metrics_of",
    "placed_entities",
    "put_metric",
    "series_by_name",
    "series_owners",
    "update_agency",
    "update_attributes",
    "update_dataset",
    "update_entities",
    "update_entity",
]

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
from taydo.catalog.service.dataset_reads import (
    DatasetRef,
    Station,
    dataset_metric_names,
    dataset_ref,
    dataset_refs,
    dataset_series_ids,
    dataset_stations,
)
from taydo.catalog.service.derived import ensure_metrics
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
from taydo.catalog.service.entity_query import (
    EntityRecord,
    EntitySelection,
    EntitySeries,
    entity_record,
    entity_records,
    series_of_entity,
)
from taydo.catalog.service.lookups import (
    EntityContext,
    dataset_intervals,
    entity_attributes,
    entity_context_in,
    entity_location_in,
    metric_ids,
)
from taydo.catalog.service.names import EntityName, entity_names, series_by_name
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

__all__ = [
    "UNIT_SYMBOLS",
    "AttributesUpdate",
    "CatalogVersion",
    "DatasetRef",
    "EntityContext",
    "EntityInsert",
    "EntityName",
    "EntityRecord",
    "EntitySelection",
    "EntitySeries",
    "EntityType",
    "EntityUpdate",
    "LockedEntity",
    "MetricRow",
    "MetricSpec",
    "PlacedEntity",
    "SeriesOwner",
    "Station",
    "agency_id_of",
    "assign_areas",
    "catalog_version",
    "create_agency",
    "create_dataset",
    "create_entity",
    "dataset_intervals",
    "dataset_metric_names",
    "dataset_ref",
    "dataset_refs",
    "dataset_series_ids",
    "dataset_stations",
    "delete_agency",
    "delete_dataset",
    "delete_entities",
    "delete_entity",
    "delete_metric",
    "ensure_metrics",
    "entities_per_area",
    "entity_attributes",
    "entity_context_in",
    "entity_location_in",
    "entity_names",
    "entity_record",
    "entity_records",
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
    "metric_ids",
    "metrics_of",
    "placed_entities",
    "put_metric",
    "series_by_name",
    "series_of_entity",
    "series_owners",
    "update_agency",
    "update_attributes",
    "update_dataset",
    "update_entities",
    "update_entity",
]

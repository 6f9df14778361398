"""ingest: the other types of multi-typed NGSI-LD entities, indexed for queries by type

Revision ID: i5_ngsild_entity_types
Revises: i4_ngsild_sources
Create Date: 2026-12-03
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "i5_ngsild_entity_types"
down_revision: str | Sequence[str] | None = "i4_ngsild_sources"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _more_types(attributes: Any) -> list[str]:
    if isinstance(attributes, str):  # a JSON column read without its type
        attributes = json.loads(attributes)
    details = attributes.get("_ngsild") if isinstance(attributes, dict) else None
    found = details.get("types") if isinstance(details, dict) else None
    return [t for t in found if isinstance(t, str)] if isinstance(found, list) else []


def upgrade() -> None:
    table = op.create_table(
        "ngsild_entity_types",
        sa.Column("entity_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("entity_id", "type", name=op.f("pk_ngsild_entity_types")),
    )
    op.create_index(
        op.f("ix_ngsild_entity_types_type"), "ngsild_entity_types", ["type"], unique=False
    )
    # Entities written before this revision keep their other types in their attributes:
    # index them so that a query by any of their types finds them too.
    entities = sa.table("entities", sa.column("entity_id"), sa.column("attributes", sa.JSON))
    connection = op.get_bind()
    rows = connection.execute(sa.select(entities.c.entity_id, entities.c.attributes))
    found = [
        {"entity_id": entity_id, "type": kind[:255]}
        for entity_id, attributes in rows
        for kind in dict.fromkeys(_more_types(attributes))
    ]
    if found:
        op.bulk_insert(table, found)


def downgrade() -> None:
    op.drop_index(op.f("ix_ngsild_entity_types_type"), table_name="ngsild_entity_types")
    op.drop_table("ngsild_entity_types")

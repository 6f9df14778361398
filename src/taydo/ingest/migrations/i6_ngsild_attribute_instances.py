"""ingest: the history of non-numeric NGSI-LD attribute values

Revision ID: i6_ngsild_attribute_instances
Revises: i5_ngsild_entity_types
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i6_ngsild_attribute_instances"
down_revision: str | Sequence[str] | None = "i5_ngsild_entity_types"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ngsild_attribute_instances",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("entity_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("dataset_id", sa.String(length=255), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("observed", sa.Boolean(), nullable=False),
        sa.Column("attr", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ngsild_attribute_instances")),
    )
    op.create_index(
        "ix_ngsild_attribute_instances_key",
        "ngsild_attribute_instances",
        ["entity_id", "name", "ts"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_ngsild_attribute_instances_key", table_name="ngsild_attribute_instances")
    op.drop_table("ngsild_attribute_instances")

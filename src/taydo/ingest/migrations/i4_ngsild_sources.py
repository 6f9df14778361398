"""ingest: NGSI-LD context source registrations and their subscriptions

Revision ID: i4_ngsild_sources
Revises: i3_ingest_upload_duplicates
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i4_ngsild_sources"
down_revision: str | Sequence[str] | None = "i3_ingest_upload_duplicates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ngsild_sources",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("resource_id", sa.String(length=255), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ngsild_sources")),
        sa.UniqueConstraint("kind", "resource_id", name=op.f("uq_ngsild_sources_kind")),
    )
    op.create_index(
        op.f("ix_ngsild_sources_agency_code"), "ngsild_sources", ["agency_code"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ngsild_sources_agency_code"), table_name="ngsild_sources")
    op.drop_table("ngsild_sources")

"""ingest: file uploads, column mappings, pull connectors

Revision ID: i2_ingest_files_connectors
Revises: i1_ingest_initial
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i2_ingest_files_connectors"
down_revision: str | Sequence[str] | None = "i1_ingest_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "c1_catalog_initial"

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ingest_column_mappings",
        sa.Column("dataset_id", PK, nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_ingest_column_mappings_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_id", name=op.f("pk_ingest_column_mappings")),
    )
    op.create_table(
        "ingest_uploads",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("dataset_id", PK, nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("encoding", sa.String(length=60), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("values_stored", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_ingest_uploads_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_uploads")),
    )
    op.create_table(
        "ingest_connectors",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("interval_s", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("watermark", sa.String(length=200), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("rows_ingested", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_connectors")),
        sa.UniqueConstraint("name", name=op.f("uq_ingest_connectors_name")),
    )


def downgrade() -> None:
    op.drop_table("ingest_connectors")
    op.drop_table("ingest_uploads")
    op.drop_table("ingest_column_mappings")

"""kpi: KPI definitions, values and entries; DTI frameworks, results and mergers

Revision ID: k1_kpi_initial
Revises:
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "k1_kpi_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("kpi",)
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def _id() -> sa.Column[int]:
    return sa.Column("id", _ID, autoincrement=True, nullable=False)


def upgrade() -> None:
    op.create_table(
        "kpi_sectors",
        _id(),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_sectors")),
        sa.UniqueConstraint("code", name=op.f("uq_kpi_sectors_code")),
    )
    op.create_table(
        "kpis",
        _id(),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=False),
        sa.Column("pillar", sa.String(length=32), nullable=False),
        sa.Column("sector", sa.String(length=60), nullable=True),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("target", sa.Float(), nullable=True),
        sa.Column("warn", sa.Float(), nullable=True),
        sa.Column("target_source", sa.Text(), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=True),
        sa.Column("source_kind", sa.String(length=40), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=80), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpis")),
        sa.UniqueConstraint("code", name=op.f("uq_kpis_code")),
    )
    op.create_index(op.f("ix_kpis_pillar"), "kpis", ["pillar"], unique=False)
    op.create_index(op.f("ix_kpis_agency_code"), "kpis", ["agency_code"], unique=False)
    op.create_table(
        "kpi_values",
        _id(),
        sa.Column("kpi_id", _ID, nullable=False),
        sa.Column("period_key", sa.String(length=16), nullable=False),
        sa.Column("period_start", _TS, nullable=False),
        sa.Column("area_code", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("formula_version", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("computed_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["kpi_id"], ["kpis.id"], name=op.f("fk_kpi_values_kpi_id_kpis"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_values")),
        sa.UniqueConstraint("kpi_id", "period_key", "area_code", name="uq_kpi_values_key"),
    )
    op.create_index(op.f("ix_kpi_values_period_start"), "kpi_values", ["period_start"])
    op.create_table(
        "kpi_entries",
        _id(),
        sa.Column("kpi_id", _ID, nullable=False),
        sa.Column("period_key", sa.String(length=16), nullable=False),
        sa.Column("area_code", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("entered_by", sa.String(length=120), nullable=False),
        sa.Column("entered_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["kpi_id"], ["kpis.id"], name=op.f("fk_kpi_entries_kpi_id_kpis"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_entries")),
        sa.UniqueConstraint("kpi_id", "period_key", "area_code", name="uq_kpi_entries_key"),
    )
    op.create_table(
        "dti_frameworks",
        _id(),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("structure", sa.JSON(), nullable=False),
        sa.Column("origin", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dti_frameworks")),
        sa.UniqueConstraint("code", name=op.f("uq_dti_frameworks_code")),
    )
    op.create_table(
        "dti_results",
        _id(),
        sa.Column("framework", sa.String(length=40), nullable=False),
        sa.Column("province", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("index_code", sa.String(length=60), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("rank_of", sa.Integer(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("entered_by", sa.String(length=120), nullable=False),
        sa.Column("entered_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dti_results")),
        sa.UniqueConstraint(
            "framework", "province", "year", "index_code", name="uq_dti_results_key"
        ),
    )
    op.create_index(op.f("ix_dti_results_framework"), "dti_results", ["framework"])
    op.create_table(
        "dti_mergers",
        _id(),
        sa.Column("province", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dti_mergers")),
        sa.UniqueConstraint("province", name=op.f("uq_dti_mergers_province")),
    )


def downgrade() -> None:
    for table in ("dti_mergers", "dti_results", "dti_frameworks", "kpi_entries", "kpi_values"):
        op.drop_table(table)
    op.drop_table("kpis")
    op.drop_table("kpi_sectors")

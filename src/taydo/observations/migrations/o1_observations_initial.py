"""observations: raw points, hourly and daily rollups, latest values

Revision ID: o1_observations_initial
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "o1_observations_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("observations",)
depends_on: str | Sequence[str] | None = "c1_catalog_initial"

ROLLUPS = ("observations_hourly", "observations_daily")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Range-partitioned by time; the writer creates monthly partitions on demand.
        op.execute(
            "CREATE TABLE observations ("
            " series_id BIGINT NOT NULL, ts BIGINT NOT NULL,"
            " value DOUBLE PRECISION NOT NULL, quality SMALLINT NOT NULL,"
            " CONSTRAINT pk_observations PRIMARY KEY (series_id, ts)"
            ") PARTITION BY RANGE (ts)"
        )
    else:
        op.create_table(
            "observations",
            sa.Column("series_id", sa.BigInteger(), nullable=False),
            sa.Column("ts", sa.BigInteger(), nullable=False),
            sa.Column("value", sa.Float(), nullable=False),
            sa.Column("quality", sa.SmallInteger(), nullable=False),
            sa.PrimaryKeyConstraint("series_id", "ts", name=op.f("pk_observations")),
            sqlite_with_rowid=False,
        )
    for name in ROLLUPS:
        op.create_table(
            name,
            sa.Column("series_id", sa.BigInteger(), nullable=False),
            sa.Column("bucket", sa.BigInteger(), nullable=False),
            sa.Column("count", sa.Integer(), nullable=False),
            sa.Column("sum", sa.Float(), nullable=False),
            sa.Column("min", sa.Float(), nullable=False),
            sa.Column("max", sa.Float(), nullable=False),
            sa.Column("last_ts", sa.BigInteger(), nullable=False),
            sa.Column("last_value", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("series_id", "bucket", name=op.f(f"pk_{name}")),
            sqlite_with_rowid=False,
        )
    op.create_table(
        "observations_latest",
        sa.Column("series_id", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("quality", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("series_id", name=op.f("pk_observations_latest")),
    )


def downgrade() -> None:
    op.drop_table("observations_latest")
    for name in ROLLUPS:
        op.drop_table(name)
    op.drop_table("observations")  # on PostgreSQL this drops every partition too

"""observations: packed hours (closed hours compacted into one row per series and hour)

Revision ID: o3_observations_packed
Revises: o2_observations_unfolded
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "o3_observations_packed"
down_revision: str | Sequence[str] | None = "o2_observations_unfolded"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # One row per (series, UTC hour): the hour's points as little-endian arrays (see
    # ``taydo.observations.packed``). A row-per-point table cannot get under ~90 B/point on
    # PostgreSQL (tuple header and B-tree entry per point); a packed hour of minute data is
    # ~14 B/point. SQLite keeps its rowid here: WITHOUT ROWID suits small rows only.
    op.create_table(
        "observations_packed",
        sa.Column("series_id", sa.BigInteger(), nullable=False),
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("ts", sa.LargeBinary(), nullable=False),
        sa.Column("vals", sa.LargeBinary(), nullable=False),
        sa.Column("qualities", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("series_id", "hour", name=op.f("pk_observations_packed")),
    )
    # The watermark: every raw point below ``packed_before`` has been packed or arrived
    # after that compaction (and was checked against the packed rows when written).
    op.create_table(
        "observations_watermark",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("packed_before", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observations_watermark")),
    )
    op.execute("INSERT INTO observations_watermark (id, packed_before) VALUES (1, 0)")


def downgrade() -> None:
    # The packed rows are the only copy of their points: refuse rather than lose them.
    packed = op.get_bind().execute(sa.text("SELECT count(*) FROM observations_packed")).scalar()
    if packed:
        raise RuntimeError(
            f"observations_packed holds {packed} packed hours; downgrading would lose their "
            "points (there is no unpacking command)"
        )
    op.drop_table("observations_watermark")
    op.drop_table("observations_packed")

"""observations: journal of rollup deltas awaiting a flush

Revision ID: o2_observations_unfolded
Revises: o1_observations_initial
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from taydo.core.db import BigIntPK

revision: str = "o2_observations_unfolded"
down_revision: str | Sequence[str] | None = "o1_observations_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # One row per write transaction of the group-commit writer: the per-(series, hour) sums
    # of the points it stored, packed as doubles; ``Store.flush`` applies and deletes them.
    op.create_table(
        "observations_unfolded",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("deltas", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observations_unfolded")),
    )


def downgrade() -> None:
    op.drop_table("observations_unfolded")

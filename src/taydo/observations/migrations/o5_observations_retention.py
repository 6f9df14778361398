"""observations: retention policies per dataset

Revision ID: o5_observations_retention
Revises: o4_observations_partitioned
Create Date: 2026-12-03

A new table only: safe while processes of the previous release run.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "o5_observations_retention"
down_revision: str | Sequence[str] | None = "o4_observations_partitioned"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # One row per dataset code with a policy, and ``*`` for every other series: how many
    # days each tier is kept (NULL: forever). See ``taydo.observations.retention``.
    op.create_table(
        "observations_retention",
        sa.Column("scope", sa.String(80), nullable=False),
        sa.Column("raw_days", sa.Integer(), nullable=True),
        sa.Column("hourly_days", sa.Integer(), nullable=True),
        sa.Column("daily_days", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_observations_retention")),
    )


def downgrade() -> None:
    op.drop_table("observations_retention")

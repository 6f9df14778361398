"""kpi: a DTI result says whether it was entered or computed from KPIs, and from what

Revision ID: k2_dti_computed
Revises: k1_kpi_initial
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "k2_dti_computed"
down_revision: str | Sequence[str] | None = "k1_kpi_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dti_results") as batch:
        batch.add_column(
            sa.Column("method", sa.String(length=10), nullable=False, server_default="entered")
        )
        batch.add_column(sa.Column("inputs", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("dti_results") as batch:
        batch.drop_column("inputs")
        batch.drop_column("method")

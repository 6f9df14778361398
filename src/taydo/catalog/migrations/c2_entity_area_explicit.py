"""catalog: entities.area_explicit (area set by hand vs found from the location)

Revision ID: c2_entity_area_explicit
Revises: c1_catalog_initial
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c2_entity_area_explicit"
down_revision: str | Sequence[str] | None = "c1_catalog_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("entities") as batch:
        batch.add_column(
            sa.Column("area_explicit", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("entities") as batch:
        batch.drop_column("area_explicit")

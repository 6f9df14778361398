"""incidents: revision counter of the correlation rules (for the in-memory validated rules)

Revision ID: in4_correlation_revision
Revises: in3_incident_note_files
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "in4_correlation_revision"
down_revision: str | Sequence[str] | None = "in3_incident_note_files"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "incident_correlation_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_correlation_revision")),
    )
    op.bulk_insert(table, [{"id": 1, "revision": 0}])


def downgrade() -> None:
    op.drop_table("incident_correlation_revision")

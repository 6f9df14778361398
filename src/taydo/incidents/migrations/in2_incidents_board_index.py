"""incidents: (status, id) index for the board's columns (newest first, one status each)

Revision ID: in2_incidents_board_index
Revises: in1_incidents_initial
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "in2_incidents_board_index"
down_revision: str | Sequence[str] | None = "in1_incidents_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_incidents_status_id", "incidents", ["status", "id"])


def downgrade() -> None:
    op.drop_index("ix_incidents_status_id", table_name="incidents")

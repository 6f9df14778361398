"""alerts: a delivery is claimed by one process before it is sent (cluster, issue 15)

Revision ID: al2_outbox_claims
Revises: al1_alerts_initial
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "al2_outbox_claims"
down_revision: str | Sequence[str] | None = "al1_alerts_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Two plain nullable columns: an ALTER that old processes, still running during a rolling
    # upgrade, never notice.
    with op.batch_alter_table("notify_outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notify_outbox") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")

"""alerts: the newest judged observation that changed a series' alerts (cluster hand-over)

Revision ID: al3_judged_marks
Revises: al2_outbox_claims
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "al3_judged_marks"
down_revision: str | Sequence[str] | None = "al2_outbox_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A new table: old processes, still running during a rolling upgrade, never read it
    # (a series they hand over is judged from its newest value, as before).
    op.create_table(
        "alert_marks",
        sa.Column("series_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("series_id", name=op.f("pk_alert_marks")),
    )


def downgrade() -> None:
    op.drop_table("alert_marks")

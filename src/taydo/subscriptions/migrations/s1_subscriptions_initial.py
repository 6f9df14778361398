"""subscriptions: NGSI-LD subscriptions and their delivery record

Revision ID: s1_subscriptions_initial
Revises:
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s1_subscriptions_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("subscriptions",)
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ngsild_subscriptions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("sub_id", sa.String(length=255), nullable=False),
        sa.Column("owner", sa.String(length=80), nullable=False),
        sa.Column("owner_role", sa.String(length=24), nullable=False),
        sa.Column("owner_agencies", sa.JSON(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=True),
        sa.Column("receiver_sealed", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("expires_at", WHEN, nullable=True),
        sa.Column("throttling", sa.Float(), nullable=False),
        sa.Column("last_queued_at", WHEN, nullable=True),
        sa.Column("times_sent", sa.Integer(), nullable=False),
        sa.Column("last_notification", WHEN, nullable=True),
        sa.Column("last_success", WHEN, nullable=True),
        sa.Column("last_failure", WHEN, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("modified_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ngsild_subscriptions")),
        sa.UniqueConstraint("sub_id", name=op.f("uq_ngsild_subscriptions_sub_id")),
    )
    op.create_index(
        op.f("ix_ngsild_subscriptions_owner"), "ngsild_subscriptions", ["owner"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ngsild_subscriptions_owner"), table_name="ngsild_subscriptions")
    op.drop_table("ngsild_subscriptions")

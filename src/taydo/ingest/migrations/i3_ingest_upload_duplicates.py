"""ingest: an upload counts the values that were already stored

Revision ID: i3_ingest_upload_duplicates
Revises: i2_ingest_files_connectors
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i3_ingest_upload_duplicates"
down_revision: str | Sequence[str] | None = "i2_ingest_files_connectors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Uploads made before this revision did not count duplicates: 0, as they reported.
    with op.batch_alter_table("ingest_uploads") as batch:
        batch.add_column(
            sa.Column("values_duplicate", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("ingest_uploads") as batch:
        batch.drop_column("values_duplicate")

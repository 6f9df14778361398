"""incidents: a note may carry an uploaded file (stored on disk; the row keeps its name)

Revision ID: in3_incident_note_files
Revises: in2_incidents_board_index
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "in3_incident_note_files"
down_revision: str | Sequence[str] | None = "in2_incidents_board_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incident_notes") as batch:
        batch.add_column(sa.Column("file_stored", sa.String(200), nullable=True))
        batch.add_column(sa.Column("file_media_type", sa.String(80), nullable=True))
        batch.add_column(sa.Column("file_size", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("file_sha256", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incident_notes") as batch:
        for column in ("file_sha256", "file_size", "file_media_type", "file_stored"):
            batch.drop_column(column)

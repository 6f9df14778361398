"""kpi: a proposed target is a flag (target_proposed), no longer English words in target_source

A KPI whose target the pack proposes, not yet confirmed by the city, said so in its target
source ("target: proposed", sometimes with a note after it). The upgrade sets the flag on those
rows and keeps only the note; the downgrade writes the words back.

Revision ID: k3_target_proposed
Revises: k2_dti_computed
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "k3_target_proposed"
down_revision: str | Sequence[str] | None = "k2_dti_computed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREFIX = "target: proposed"

_kpis = sa.table(
    "kpis",
    sa.column("id", sa.BigInteger()),
    sa.column("target_source", sa.Text()),
    sa.column("target_proposed", sa.Boolean()),
)


def _note(source: str) -> str:
    """What followed the words: "target: proposed (a note)" → "a note"."""
    rest = source[len(PREFIX) :].strip()
    if rest.startswith("(") and rest.endswith(")"):
        rest = rest[1:-1].strip()
    return rest.lstrip("—-:;, ").strip()


def upgrade() -> None:
    with op.batch_alter_table("kpis") as batch:
        batch.add_column(
            sa.Column("target_proposed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_kpis.c.id, _kpis.c.target_source).where(_kpis.c.target_source.like(PREFIX + "%"))
    ).all()
    for row in rows:
        connection.execute(
            _kpis.update()
            .where(_kpis.c.id == row.id)
            .values(target_proposed=True, target_source=_note(row.target_source))
        )


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_kpis.c.id, _kpis.c.target_source).where(_kpis.c.target_proposed == sa.true())
    ).all()
    for row in rows:
        note = row.target_source
        connection.execute(
            _kpis.update()
            .where(_kpis.c.id == row.id)
            .values(target_source=f"{PREFIX} ({note})" if note else PREFIX)
        )
    with op.batch_alter_table("kpis") as batch:
        batch.drop_column("target_proposed")

"""directives: directives, assignments per agency, reports, files

Revision ID: d1_directives_initial
Revises:
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d1_directives_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("directives",)
# Agencies, incidents and KPIs are referred to by code or id, without foreign keys.
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "directives",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", WHEN, nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.Column("kpi_code", sa.String(length=80), nullable=True),
        sa.Column("issued_by", sa.String(length=80), nullable=False),
        sa.Column("issued_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("closed_at", WHEN, nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directives")),
    )
    for column in ("status", "due_at", "incident_id", "kpi_code"):
        op.create_index(op.f(f"ix_directives_{column}"), "directives", [column], unique=False)
    op.create_table(
        "directive_assignments",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("directive_id", ID, nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("area_code", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("due_at", WHEN, nullable=False),
        sa.Column("acknowledged_at", WHEN, nullable=True),
        sa.Column("done_at", WHEN, nullable=True),
        sa.Column("accepted_at", WHEN, nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reminded_at", WHEN, nullable=True),
        sa.Column("overdue_at", WHEN, nullable=True),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["directive_id"],
            ["directives.id"],
            name=op.f("fk_directive_assignments_directive_id_directives"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directive_assignments")),
        sa.UniqueConstraint(
            "directive_id",
            "agency_code",
            name=op.f("uq_directive_assignments_directive_id"),
        ),
    )
    for column in ("directive_id", "agency_code", "area_code", "status", "due_at"):
        op.create_index(
            op.f(f"ix_directive_assignments_{column}"),
            "directive_assignments",
            [column],
            unique=False,
        )
    op.create_table(
        "directive_reports",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("assignment_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["directive_assignments.id"],
            name=op.f("fk_directive_reports_assignment_id_directive_assignments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directive_reports")),
    )
    op.create_index(
        op.f("ix_directive_reports_assignment_id"),
        "directive_reports",
        ["assignment_id"],
        unique=False,
    )
    op.create_table(
        "directive_files",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("directive_id", ID, nullable=False),
        sa.Column("assignment_id", ID, nullable=True),
        sa.Column("report_id", ID, nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("stored", sa.String(length=120), nullable=False),
        sa.Column("uploaded_by", sa.String(length=80), nullable=False),
        sa.Column("uploaded_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["directive_id"],
            ["directives.id"],
            name=op.f("fk_directive_files_directive_id_directives"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["directive_assignments.id"],
            name=op.f("fk_directive_files_assignment_id_directive_assignments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["directive_reports.id"],
            name=op.f("fk_directive_files_report_id_directive_reports"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directive_files")),
        sa.UniqueConstraint("stored", name=op.f("uq_directive_files_stored")),
    )
    for column in ("directive_id", "assignment_id"):
        op.create_index(
            op.f(f"ix_directive_files_{column}"), "directive_files", [column], unique=False
        )


def downgrade() -> None:
    for table in ("directive_files", "directive_reports", "directive_assignments", "directives"):
        op.drop_table(table)

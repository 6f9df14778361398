"""incidents: incidents, SOP steps, links, notes, SOPs, SLA, correlation rules, report snapshots

Revision ID: in1_incidents_initial
Revises:
Create Date: 2026-12-03
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "in1_incidents_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("incidents",)
# Journal entries (auth) and alerts are referred to by id in links, not by foreign key; the
# alerts branch comes first so that an alert → incident action finds its tables.
depends_on: str | Sequence[str] | None = "al1_alerts_initial"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def _id() -> "sa.Column[Any]":
    return sa.Column("id", ID, autoincrement=True, nullable=False)


def _parent() -> "sa.Column[Any]":
    return sa.Column(
        "incident_id",
        ID,
        sa.ForeignKey("incidents.id", ondelete="CASCADE", name=None),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "incidents",
        _id(),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("type", sa.String(60), nullable=False),
        sa.Column("title", sa.String(400), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("area_code", sa.String(16), nullable=True),
        sa.Column("agency_code", sa.String(40), nullable=True),
        sa.Column("assignees", sa.JSON(), nullable=False),
        sa.Column("started_at", WHEN, nullable=False),
        sa.Column("due_at", WHEN, nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("resolved_at", WHEN, nullable=True),
        sa.Column("closed_at", WHEN, nullable=True),
        sa.Column("open_key", sa.String(200), nullable=True),
        sa.Column("correlation", sa.String(80), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("code", name=op.f("uq_incidents_code")),
        sa.UniqueConstraint("open_key", name=op.f("uq_incidents_open_key")),
    )
    for column in ("type", "status", "area_code", "agency_code", "due_at"):
        op.create_index(op.f(f"ix_incidents_{column}"), "incidents", [column])
    op.create_table(
        "incident_steps",
        _id(),
        _parent(),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(60), nullable=False),
        sa.Column("title", sa.String(400), nullable=False),
        sa.Column("title_en", sa.String(400), nullable=False),
        sa.Column("role", sa.String(40), nullable=True),
        sa.Column("agency_code", sa.String(40), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("due_at", WHEN, nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("done_by", sa.String(80), nullable=True),
        sa.Column("done_at", WHEN, nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("warned", sa.Boolean(), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_steps")),
    )
    op.create_index(op.f("ix_incident_steps_incident_id"), "incident_steps", ["incident_id"])
    op.create_index(op.f("ix_incident_steps_due_at"), "incident_steps", ["due_at"])
    op.create_table(
        "incident_links",
        _id(),
        _parent(),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("ref", sa.String(255), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_links")),
        sa.UniqueConstraint("kind", "ref", "incident_id", name="uq_incident_links"),
    )
    op.create_index(op.f("ix_incident_links_incident_id"), "incident_links", ["incident_id"])
    op.create_table(
        "incident_notes",
        _id(),
        _parent(),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("author", sa.String(80), nullable=False),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachment_name", sa.String(255), nullable=True),
        sa.Column("attachment_url", sa.String(1000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_notes")),
    )
    op.create_index(op.f("ix_incident_notes_incident_id"), "incident_notes", ["incident_id"])
    op.create_table(
        "incident_sops",
        sa.Column("type", sa.String(60), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(80), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("type", name=op.f("pk_incident_sops")),
    )
    op.create_table(
        "incident_sla",
        sa.Column("type", sa.String(60), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("type", "severity", name=op.f("pk_incident_sla")),
    )
    op.create_table(
        "incident_correlations",
        sa.Column("code", sa.String(80), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(80), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_incident_correlations")),
    )
    op.create_table(
        "incident_report_snapshots",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("service_code", sa.String(80), nullable=False),
        sa.Column("area_code", sa.String(16), nullable=True),
        sa.Column("requested_at", WHEN, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_report_snapshots")),
    )
    for column in ("service_code", "area_code", "requested_at"):
        op.create_index(
            op.f(f"ix_incident_report_snapshots_{column}"), "incident_report_snapshots", [column]
        )


def downgrade() -> None:
    for table in (
        "incident_report_snapshots",
        "incident_correlations",
        "incident_sla",
        "incident_sops",
        "incident_notes",
        "incident_links",
        "incident_steps",
        "incidents",
    ):
        op.drop_table(table)

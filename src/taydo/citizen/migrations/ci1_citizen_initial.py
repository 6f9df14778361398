"""citizen: services, routing table, API keys, reports

Revision ID: ci1_citizen_initial
Revises:
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ci1_citizen_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("citizen",)
# No foreign key leaves the domain (agencies and areas are referred to by code).
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "citizen_services",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("group", sa.String(length=80), nullable=False),
        sa.Column("keywords", sa.String(length=400), nullable=False),
        sa.Column("sla_hours", sa.Float(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_citizen_services")),
    )
    op.create_table(
        "citizen_routes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=True),
        sa.Column("area_code", sa.String(length=16), nullable=True),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_routes")),
    )
    op.create_table(
        "citizen_api_keys",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_citizen_api_keys_key_hash")),
    )
    op.create_table(
        "citizen_reports",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("address", sa.String(length=400), nullable=False),
        sa.Column("area_code", sa.String(length=16), nullable=True),
        sa.Column("agency_code", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_notes", sa.Text(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("contact_email", sa.String(length=200), nullable=False),
        sa.Column("contact_phone", sa.String(length=40), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("photo", sa.String(length=200), nullable=True),
        sa.Column("requested_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("due_at", _TS, nullable=False),
        sa.Column("acknowledged_at", _TS, nullable=True),
        sa.Column("closed_at", _TS, nullable=True),
        sa.Column("closed_by", sa.String(length=80), nullable=True),
        sa.Column("reminded_at", _TS, nullable=True),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rated_at", _TS, nullable=True),
        sa.Column("duplicate_of", _ID, nullable=True),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.Column("api_key_id", sa.BigInteger(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["duplicate_of"],
            ["citizen_reports.id"],
            name=op.f("fk_citizen_reports_duplicate_of_citizen_reports"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_reports")),
        sa.UniqueConstraint("token", name=op.f("uq_citizen_reports_token")),
    )
    for column in ("agency_code", "area_code", "requested_at", "due_at"):
        op.create_index(
            op.f(f"ix_citizen_reports_{column}"), "citizen_reports", [column], unique=False
        )
    op.create_index(
        "ix_citizen_reports_service_requested",
        "citizen_reports",
        ["service_code", "requested_at"],
        unique=False,
    )
    op.create_index(
        "ix_citizen_reports_status_requested",
        "citizen_reports",
        ["status", "requested_at"],
        unique=False,
    )


def downgrade() -> None:
    for table in ("citizen_reports", "citizen_api_keys", "citizen_routes", "citizen_services"):
        op.drop_table(table)

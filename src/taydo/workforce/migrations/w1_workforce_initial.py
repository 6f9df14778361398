"""workforce: courses, training counts, assessments, staff, community teams, populations

Revision ID: w1_workforce_initial
Revises:
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "w1_workforce_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("workforce",)
# Agencies and areas are named by code (no foreign key): nothing of another branch is needed.
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column[int]:
    return sa.Column("id", ID, autoincrement=True, nullable=False)


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "workforce_courses",
        _id(),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("group", sa.String(length=20), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workforce_courses")),
        sa.UniqueConstraint("code", name=op.f("uq_workforce_courses_code")),
    )
    op.create_index(op.f("ix_workforce_courses_agency_code"), "workforce_courses", ["agency_code"])
    op.create_index(op.f("ix_workforce_courses_ends_on"), "workforce_courses", ["ends_on"])
    op.create_table(
        "workforce_training",
        _id(),
        sa.Column("course_id", ID, nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("area_code", sa.String(length=16), nullable=True),
        sa.Column("enrolled", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["workforce_courses.id"],
            name=op.f("fk_workforce_training_course_id_workforce_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workforce_training")),
    )
    for column in ("course_id", "agency_code", "area_code"):
        op.create_index(op.f(f"ix_workforce_training_{column}"), "workforce_training", [column])
    op.create_table(
        "workforce_assessments",
        _id(),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("framework", sa.String(length=80), nullable=False),
        sa.Column("level", sa.String(length=40), nullable=False),
        sa.Column("group", sa.String(length=20), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("area_code", sa.String(length=16), nullable=True),
        sa.Column("assessed", sa.Integer(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workforce_assessments")),
    )
    op.create_index(op.f("ix_workforce_assessments_year"), "workforce_assessments", ["year"])
    op.create_index(
        op.f("ix_workforce_assessments_agency_code"), "workforce_assessments", ["agency_code"]
    )
    op.create_table(
        "workforce_staff",
        _id(),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workforce_staff")),
    )
    op.create_index(op.f("ix_workforce_staff_year"), "workforce_staff", ["year"])
    op.create_index(op.f("ix_workforce_staff_agency_code"), "workforce_staff", ["agency_code"])
    op.create_table(
        "workforce_teams",
        _id(),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("area_code", sa.String(length=16), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("established_on", sa.Date(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workforce_teams")),
        sa.UniqueConstraint("code", name=op.f("uq_workforce_teams_code")),
    )
    op.create_index(op.f("ix_workforce_teams_area_code"), "workforce_teams", ["area_code"])
    op.create_index(op.f("ix_workforce_teams_agency_code"), "workforce_teams", ["agency_code"])
    op.create_table(
        "workforce_team_activities",
        _id(),
        sa.Column("team_id", ID, nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["workforce_teams.id"],
            name=op.f("fk_workforce_team_activities_team_id_workforce_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workforce_team_activities")),
    )
    op.create_index(
        op.f("ix_workforce_team_activities_team_id"), "workforce_team_activities", ["team_id"]
    )
    op.create_table(
        "workforce_populations",
        _id(),
        sa.Column("area_code", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workforce_populations")),
    )
    op.create_index(
        op.f("ix_workforce_populations_area_code"), "workforce_populations", ["area_code"]
    )
    op.create_table(
        "workforce_imports",
        _id(),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("encoding", sa.String(length=60), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("rows_stored", sa.Integer(), nullable=False),
        sa.Column("agencies", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workforce_imports")),
    )


def downgrade() -> None:
    for table in (
        "workforce_imports",
        "workforce_populations",
        "workforce_team_activities",
        "workforce_teams",
        "workforce_staff",
        "workforce_assessments",
        "workforce_training",
        "workforce_courses",
    ):
        op.drop_table(table)

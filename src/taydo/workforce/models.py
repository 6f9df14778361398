"""Tables of the digital workforce (nhân lực số).

Privacy by design: the KPIs need counts, not people, so no table holds a name, an identity
number or any other personal data. Training is kept as counts per course per agency/ward,
skill assessments as counts per level, staff as headcounts by kind, community teams as member
counts. Every row names the agency that reported it (``agency_code``): agency officers enter
and see only their own agencies' rows.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from taydo.core.db import Base, BigIntPK, UTCDateTime

__all__ = [
    "Assessment",
    "Course",
    "Population",
    "StaffCount",
    "Team",
    "TeamActivity",
    "Training",
    "WorkforceImport",
]


class _Stamped:
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(80))


class Course(_Stamped, Base):
    """A training programme or course: who organises it, for which group, how and when."""

    __tablename__ = "workforce_courses"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    agency_code: Mapped[str] = mapped_column(String(40), index=True)  # the organiser
    group: Mapped[str] = mapped_column(String(20))  # people | civil_servants | it_workforce
    mode: Mapped[str] = mapped_column(String(20))  # in_person | online | blended
    hours: Mapped[float] = mapped_column(Float)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date, index=True)


class Training(_Stamped, Base):
    """Enrolments and completions of one course by one agency's staff or one ward's people."""

    __tablename__ = "workforce_training"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    course_id: Mapped[int] = mapped_column(
        ForeignKey("workforce_courses.id", ondelete="CASCADE"), index=True
    )
    agency_code: Mapped[str] = mapped_column(String(40), index=True)
    area_code: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    enrolled: Mapped[int] = mapped_column(Integer)
    completed: Mapped[int] = mapped_column(Integer)


class Assessment(_Stamped, Base):
    """How many of a group were assessed at one level of a skills framework, in a year."""

    __tablename__ = "workforce_assessments"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    framework: Mapped[str] = mapped_column(String(80))
    level: Mapped[str] = mapped_column(String(40))
    group: Mapped[str] = mapped_column(String(20))
    agency_code: Mapped[str] = mapped_column(String(40), index=True)
    area_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    assessed: Mapped[int] = mapped_column(Integer)


class StaffCount(_Stamped, Base):
    """An agency's headcount of one kind in one year (all civil servants, dedicated digital
    transformation staff, IT specialists)."""

    __tablename__ = "workforce_staff"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    agency_code: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    headcount: Mapped[int] = mapped_column(Integer)


class Team(_Stamped, Base):
    """A community digital technology team (Tổ công nghệ số cộng đồng) of one village or
    residential group (ấp, khu vực) within a ward or commune."""

    __tablename__ = "workforce_teams"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    area_code: Mapped[str] = mapped_column(String(16), index=True)
    place: Mapped[str] = mapped_column(String(200))  # the ấp / khu vực
    agency_code: Mapped[str] = mapped_column(String(40), index=True)
    members: Mapped[int] = mapped_column(Integer)
    established_on: Mapped[date] = mapped_column(Date)


class TeamActivity(_Stamped, Base):
    """What a team did in one month: sessions held and households helped."""

    __tablename__ = "workforce_team_activities"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    team_id: Mapped[int] = mapped_column(
        ForeignKey("workforce_teams.id", ondelete="CASCADE"), index=True
    )
    month: Mapped[date] = mapped_column(Date)  # the first day of the month
    sessions: Mapped[int] = mapped_column(Integer)
    households: Mapped[int] = mapped_column(Integer)


class Population(_Stamped, Base):
    """Residents of a ward or commune in a year, with where the figure comes from (the
    denominator of members per 100 residents and of the people's trained share)."""

    __tablename__ = "workforce_populations"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    area_code: Mapped[str] = mapped_column(String(16), index=True)
    year: Mapped[int] = mapped_column(Integer)
    residents: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(300))
    agency_code: Mapped[str] = mapped_column(String(40))


class WorkforceImport(Base):
    """One imported workforce file and its per-row report."""

    __tablename__ = "workforce_imports"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(255))
    mode: Mapped[str] = mapped_column(String(20))  # all_or_nothing | accept_valid
    status: Mapped[str] = mapped_column(String(20))  # stored | partial | rejected
    encoding: Mapped[str] = mapped_column(String(60))
    rows_total: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)
    rows_stored: Mapped[int] = mapped_column(Integer)
    agencies: Mapped[list[str]] = mapped_column(JSON)  # whose rows it held (for scope)
    report: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(80))

"""What the workforce data adds up to: the functions the KPI engine calls, and the summary the
console and ``taydo workforce summary`` show.

The KPI functions take the caller's ``Session`` (the engine computes many KPIs in one) and
read only stored rows, so recomputing a past period gives the same answer.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.geo.service import within_area
from taydo.workforce.models import (
    Assessment,
    Course,
    Population,
    StaffCount,
    Team,
    TeamActivity,
    Training,
)
from taydo.workforce.service.kinds import GROUPS, STAFF_KINDS

__all__ = [
    "Coverage",
    "assessment_counts",
    "staff_counts",
    "summary",
    "team_coverage",
    "trained_share",
]

# Whose headcount is the denominator of each group's trained share.
_DENOMINATOR_KINDS = {
    "civil_servants": ("civil_servants",),
    "it_workforce": ("dx_dedicated", "it_specialist"),
}


def _day(moment: date | datetime) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


def _latest_by(rows: list[tuple[Any, int, int]], year: int) -> dict[Any, int]:
    """``(key, year, value)`` rows → the value of each key's latest year ≤ ``year``."""
    best: dict[Any, tuple[int, int]] = {}
    for key, row_year, value in rows:
        if row_year <= year and (key not in best or row_year > best[key][0]):
            best[key] = (row_year, value)
    return {key: value for key, (_y, value) in best.items()}


def _residents(session: Session, year: int, area_code: str | None) -> dict[str, int]:
    statement = select(Population.area_code, Population.year, Population.residents)
    if area_code is not None:
        statement = statement.where(within_area(Population.area_code, area_code))
    rows = [(str(a), int(y), int(r)) for a, y, r in session.execute(statement)]
    return _latest_by(rows, year)


def trained_share(
    session: Session,
    *,
    start: date | datetime,
    end: date | datetime,
    group: str,
    agency_code: str | None = None,
    area_code: str | None = None,
) -> tuple[int, int]:
    """(completions, headcount): people of ``group`` who completed a course ending in
    [start, end), and how many there are.

    The headcount is that of the latest year not after ``start``'s year: for civil servants
    the agencies' ``civil_servants`` staff count, for the IT workforce their dedicated
    digital-transformation and IT staff, for people the wards' residents. Staff groups are
    counted by agency (``area_code`` is refused), people by ward or province (``agency_code``
    is refused): the figures are reported that way.
    """
    if group not in {g.code for g in GROUPS}:
        raise ValueError(f"unknown group {group!r}")
    first, stop = _day(start), _day(end)
    year = first.year
    done = (
        select(func.coalesce(func.sum(Training.completed), 0))
        .join(Course, Course.id == Training.course_id)
        .where(Course.group == group, Course.ends_on >= first, Course.ends_on < stop)
    )
    if group == "people":
        if agency_code is not None:
            raise ValueError("people are counted by ward, not by agency")
        if area_code is not None:
            done = done.where(within_area(Training.area_code, area_code))
        headcount = sum(_residents(session, year, area_code).values())
    else:
        if area_code is not None:
            raise ValueError(f"{group} are counted by agency, not by ward")
        if agency_code is not None:
            done = done.where(Training.agency_code == agency_code)
        staff = select(
            StaffCount.agency_code, StaffCount.kind, StaffCount.year, StaffCount.headcount
        ).where(StaffCount.kind.in_(_DENOMINATOR_KINDS[group]))
        if agency_code is not None:
            staff = staff.where(StaffCount.agency_code == agency_code)
        rows = session.execute(staff)
        latest = _latest_by([((a, k), int(y), int(h)) for a, k, y, h in rows], year)
        headcount = sum(latest.values())
    return int(session.scalar(done) or 0), headcount


@dataclass(frozen=True)
class Coverage:
    """Community digital technology teams over the wards in scope on a day."""

    wards: int  # wards in scope: the one asked, or those with a team or a population figure
    wards_with_teams: int
    teams: int
    members: int
    residents: int  # of the wards with a population figure
    members_counted: int  # members of teams in wards with a population figure
    teams_per_ward: float | None
    members_per_100: float | None  # members_counted per 100 residents

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def team_coverage(
    session: Session, *, at: date | datetime, area_code: str | None = None
) -> Coverage:
    """Teams established by ``at``, per ward, and their members per 100 residents (only over
    the wards whose population is known, so an unknown ward never dilutes the figure)."""
    day = _day(at)
    statement = select(Team.area_code, Team.members).where(Team.established_on <= day)
    if area_code is not None:
        statement = statement.where(within_area(Team.area_code, area_code))
    teams = [(str(a), int(m)) for a, m in session.execute(statement)]
    residents = _residents(session, day.year, area_code)
    members_by_ward: dict[str, int] = defaultdict(int)
    for ward, members in teams:
        members_by_ward[ward] += members
    wards = set(members_by_ward) | set(residents)
    counted = sum(m for w, m in members_by_ward.items() if w in residents)
    people = sum(residents.values())
    return Coverage(
        wards=len(wards),
        wards_with_teams=len(members_by_ward),
        teams=len(teams),
        members=sum(members_by_ward.values()),
        residents=people,
        members_counted=counted,
        teams_per_ward=round(len(teams) / len(wards), 3) if wards else None,
        members_per_100=round(100 * counted / people, 3) if people else None,
    )


def assessment_counts(
    session: Session, *, year: int, framework: str | None = None, agency_code: str | None = None
) -> dict[str, int]:
    """People assessed at each level in ``year`` (optionally one framework, one agency)."""
    statement = (
        select(Assessment.level, func.sum(Assessment.assessed))
        .where(Assessment.year == year)
        .group_by(Assessment.level)
    )
    if framework is not None:
        statement = statement.where(Assessment.framework == framework)
    if agency_code is not None:
        statement = statement.where(Assessment.agency_code == agency_code)
    return {str(level): int(n) for level, n in session.execute(statement)}


def staff_counts(session: Session, *, year: int, agency_code: str | None = None) -> dict[str, int]:
    """Headcounts by kind in the latest year not after ``year`` of each agency."""
    statement = select(
        StaffCount.agency_code, StaffCount.kind, StaffCount.year, StaffCount.headcount
    )
    if agency_code is not None:
        statement = statement.where(StaffCount.agency_code == agency_code)
    latest = _latest_by(
        [((a, k), int(y), int(h)) for a, k, y, h in session.execute(statement)], year
    )
    totals: dict[str, int] = dict.fromkeys((k.code for k in STAFF_KINDS), 0)
    for (_agency, kind), count in latest.items():
        totals[kind] = totals.get(kind, 0) + count
    return totals


def _scoped(statement: Any, column: Any, principal: Principal) -> Any:
    return (
        statement
        if principal.sees_everything
        else statement.where(column.in_(sorted(principal.agencies)))
    )


def summary(database: Database, principal: Principal, *, year: int) -> dict[str, Any]:
    """The workforce in ``year`` by group, agency and ward, with the teams and their
    coverage: what the console page and ``taydo workforce summary`` show. An agency officer
    sees only their agencies' rows."""
    first, stop = date(year, 1, 1), date(year + 1, 1, 1)
    with database.session() as session:
        trained = _scoped(
            select(
                Course.group,
                Training.agency_code,
                Training.area_code,
                func.count(func.distinct(Course.id)),
                func.sum(Training.enrolled),
                func.sum(Training.completed),
            )
            .join(Course, Course.id == Training.course_id)
            .where(Course.ends_on >= first, Course.ends_on < stop)
            .group_by(Course.group, Training.agency_code, Training.area_code),
            Training.agency_code,
            principal,
        )
        by_group: dict[str, dict[str, int]] = {
            g.code: {"courses": 0, "enrolled": 0, "completed": 0} for g in GROUPS
        }
        by_agency: dict[str, dict[str, int]] = defaultdict(lambda: {"enrolled": 0, "completed": 0})
        by_ward: dict[str, dict[str, int]] = defaultdict(lambda: {"enrolled": 0, "completed": 0})
        for group, agency, area, _courses, enrolled, completed in session.execute(trained):
            by_group[group]["enrolled"] += int(enrolled or 0)
            by_group[group]["completed"] += int(completed or 0)
            by_agency[agency]["enrolled"] += int(enrolled or 0)
            by_agency[agency]["completed"] += int(completed or 0)
            if area:
                by_ward[area]["enrolled"] += int(enrolled or 0)
                by_ward[area]["completed"] += int(completed or 0)
        courses = _scoped(
            select(Course.group, func.count())
            .where(Course.ends_on >= first, Course.ends_on < stop)
            .group_by(Course.group),
            Course.agency_code,
            principal,
        )
        for group, count in session.execute(courses):
            by_group[group]["courses"] = int(count)
        shares = {}
        for group in GROUPS if principal.sees_everything else ():  # city-wide figures
            done, headcount = trained_share(session, start=first, end=stop, group=group.code)
            shares[group.code] = {"completed": done, "headcount": headcount}
        staff_rows = _scoped(
            select(StaffCount.agency_code, StaffCount.kind, StaffCount.headcount).where(
                StaffCount.year == year
            ),
            StaffCount.agency_code,
            principal,
        )
        staff: dict[str, dict[str, int]] = defaultdict(dict)
        for agency, kind, headcount in session.execute(staff_rows):
            staff[agency][kind] = int(headcount)
        levels_rows = _scoped(
            select(
                Assessment.agency_code,
                Assessment.framework,
                Assessment.level,
                func.sum(Assessment.assessed),
            )
            .where(Assessment.year == year)
            .group_by(Assessment.agency_code, Assessment.framework, Assessment.level),
            Assessment.agency_code,
            principal,
        )
        assessments = [
            {"agency": a, "framework": f, "level": lv, "assessed": int(n)}
            for a, f, lv, n in session.execute(levels_rows)
        ]
        activity = (
            select(
                TeamActivity.team_id,
                func.sum(TeamActivity.sessions),
                func.sum(TeamActivity.households),
            )
            .where(TeamActivity.month >= first, TeamActivity.month < stop)
            .group_by(TeamActivity.team_id)
        )
        done_by_team = {int(t): (int(s), int(h)) for t, s, h in session.execute(activity)}
        team_rows = _scoped(
            select(Team).where(Team.established_on < stop).order_by(Team.area_code, Team.code),
            Team.agency_code,
            principal,
        )
        teams = [
            {
                "code": t.code,
                "area_code": t.area_code,
                "place": t.place,
                "agency": t.agency_code,
                "members": t.members,
                "established_on": t.established_on.isoformat(),
                "sessions": done_by_team.get(t.id, (0, 0))[0],
                "households": done_by_team.get(t.id, (0, 0))[1],
            }
            for t in session.scalars(team_rows)
        ]
        residents = _residents(session, year, None)
        coverage = team_coverage(session, at=date(year, 12, 31))
    wards: dict[str, dict[str, Any]] = {}
    for code in sorted(set(by_ward) | {t["area_code"] for t in teams}):
        members = sum(t["members"] for t in teams if t["area_code"] == code)
        people = residents.get(code)
        wards[code] = {
            **by_ward.get(code, {"enrolled": 0, "completed": 0}),
            "teams": sum(1 for t in teams if t["area_code"] == code),
            "members": members,
            "residents": people,
            "members_per_100": round(100 * members / people, 2) if people else None,
        }
    return {
        "year": year,
        "groups": by_group,
        "shares": shares,
        "agencies": dict(sorted(by_agency.items())),
        "wards": wards,
        "staff": dict(sorted(staff.items())),
        "assessments": assessments,
        "teams": teams,
        "coverage": coverage.as_dict() if principal.sees_everything else None,
    }

"""The functions the KPI engine calls: trained share by group and team coverage, computed
from stored rows only (the same period gives the same answer every time)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.workforce import service
from tests.workforce.conftest import csv_file

ADMIN = Principal(username="tester", role="admin")


def _load(
    database: Database, kind: str, headers: tuple[str, ...], *rows: tuple[object, ...]
) -> None:
    summary = service.import_file(database, ADMIN, kind, f"{kind}.csv", csv_file(headers, *rows))
    assert summary["status"] == "stored", summary["problems"]


@pytest.fixture
def workforce(loaded: Database) -> Database:
    """Two years of a small workforce: courses for each group, staff, teams, populations."""
    _load(
        loaded,
        "courses",
        ("Mã khóa học", "Tên khóa học", "Mã cơ quan tổ chức", "Nhóm đối tượng", "Hình thức",
         "Số giờ", "Ngày bắt đầu", "Ngày kết thúc"),
        ("CS-25", "CC 25", "SKHCN", "civil_servants", "online", 8, "1/11/2025", "20/12/2025"),
        ("CS-26", "CC 26", "SKHCN", "civil_servants", "online", 8, "1/3/2026", "31/3/2026"),
        ("IT-26", "An toàn TT", "SKHCN", "it_workforce", "in_person", "40", "1/5/2026", "1/1/2027"),
        ("ND-26", "Kỹ năng số", "SKHCN", "people", "in_person", "4", "1/6/2026", "30/6/2026"),
    )  # fmt: skip
    _load(
        loaded,
        "training",
        ("Mã khóa học", "Mã cơ quan", "Mã phường/xã", "Số đăng ký", "Số hoàn thành"),
        ("CS-25", "SYT", "", "50", "40"),
        ("CS-26", "SYT", "", "100", "90"),
        ("CS-26", "SXD", "", "30", "25"),
        ("IT-26", "SYT", "", "6", "6"),
        ("ND-26", "UBND-NINHKIEU", "31135", "500", "450"),
        ("ND-26", "UBND-CAIRANG", "31186", "200", "150"),
    )
    _load(
        loaded,
        "staff",
        ("Năm", "Mã cơ quan", "Loại nhân lực", "Số người"),
        ("2025", "SYT", "civil_servants", "1000"),
        ("2026", "SYT", "civil_servants", "1200"),
        ("2025", "SXD", "civil_servants", "300"),  # no 2026 figure: 2025's holds
        ("2026", "SYT", "dx_dedicated", "4"),
        ("2026", "SYT", "it_specialist", "8"),
    )
    _load(
        loaded,
        "populations",
        ("Mã phường/xã", "Năm", "Số dân", "Nguồn số liệu", "Mã cơ quan"),
        ("31135", "2026", "10000", "Số liệu thử", "SKHCN"),
        ("31186", "2025", "5000", "Số liệu thử", "SKHCN"),
    )
    _load(
        loaded,
        "teams",
        ("Mã tổ", "Mã phường/xã", "Ấp/khu vực", "Mã cơ quan", "Số thành viên", "Ngày thành lập"),
        ("NK-1", "31135", "Khu vực 1", "UBND-NINHKIEU", "6", "01/02/2025"),
        ("NK-2", "31135", "Khu vực 2", "UBND-NINHKIEU", "4", "01/02/2026"),
        ("CR-1", "31186", "Khu vực 3", "UBND-CAIRANG", "5", "01/07/2026"),
        ("TD-1", "31673", "Ấp Giồng Chát", "SKHCN", "3", "01/01/2026"),  # no population known
    )
    return loaded


Y2026 = {"start": date(2026, 1, 1), "end": date(2027, 1, 1)}


def test_trained_share_of_civil_servants_counts_courses_ended_in_the_period(
    workforce: Database,
) -> None:
    with workforce.session() as session:
        # 90 + 25 completed in 2026; headcount SYT 1,200 (2026) + SXD 300 (its latest, 2025)
        assert service.trained_share(session, group="civil_servants", **Y2026) == (115, 1500)
        assert service.trained_share(
            session, group="civil_servants", agency_code="SYT", **Y2026
        ) == (90, 1200)
        last_year = service.trained_share(
            session, group="civil_servants", start=date(2025, 1, 1), end=date(2026, 1, 1)
        )
        assert last_year == (40, 1300)
        # datetimes work as well as dates; the end is exclusive (IT-26 ends on 1 Jan 2027)
        assert service.trained_share(
            session,
            group="it_workforce",
            start=datetime(2026, 1, 1, tzinfo=UTC),
            end=datetime(2027, 1, 1, tzinfo=UTC),
        ) == (0, 12)
        assert service.trained_share(
            session, group="it_workforce", start=date(2026, 1, 1), end=date(2027, 1, 2)
        ) == (6, 12)


def test_trained_share_of_people_is_by_ward(workforce: Database) -> None:
    with workforce.session() as session:
        assert service.trained_share(session, group="people", **Y2026) == (600, 15000)
        assert service.trained_share(session, group="people", area_code="31135", **Y2026) == (
            450,
            10000,
        )
        # the province holds both wards
        assert service.trained_share(session, group="people", area_code="92", **Y2026) == (
            600,
            15000,
        )
        with pytest.raises(ValueError, match="by ward"):
            service.trained_share(session, group="people", agency_code="SYT", **Y2026)
        with pytest.raises(ValueError, match="by agency"):
            service.trained_share(session, group="civil_servants", area_code="31135", **Y2026)
        with pytest.raises(ValueError, match="unknown group"):
            service.trained_share(session, group="robots", **Y2026)


def test_a_past_period_recomputes_to_the_same_value(workforce: Database) -> None:
    with workforce.session() as session:
        before = service.trained_share(session, group="civil_servants", **Y2026)
    # A later year's figures arrive; 2026's share is what it was.
    _load(
        workforce,
        "staff",
        ("Năm", "Mã cơ quan", "Loại nhân lực", "Số người"),
        ("2027", "SYT", "civil_servants", "5000"),
    )
    with workforce.session() as session:
        assert service.trained_share(session, group="civil_servants", **Y2026) == before


def test_team_coverage_on_a_day(workforce: Database) -> None:
    with workforce.session() as session:
        end_2026 = service.team_coverage(session, at=date(2026, 12, 31))
        assert (end_2026.teams, end_2026.members, end_2026.wards_with_teams) == (4, 18, 3)
        assert (end_2026.wards, end_2026.residents, end_2026.members_counted) == (3, 15000, 15)
        assert end_2026.members_per_100 == 0.1  # 15 members of the wards with a population
        assert end_2026.teams_per_ward == round(4 / 3, 3)
        early = service.team_coverage(session, at=datetime(2025, 6, 1, tzinfo=UTC))
        assert (early.teams, early.members) == (1, 6)
        # 2025: only Cái Răng's 2025 population is known (Ninh Kiều's is from 2026)
        assert (early.residents, early.members_counted, early.members_per_100) == (5000, 0, 0.0)
        ward = service.team_coverage(session, at=date(2026, 12, 31), area_code="31135")
        assert (ward.wards, ward.teams, ward.members, ward.members_per_100) == (1, 2, 10, 0.1)


def test_assessments_and_staff_counts(workforce: Database) -> None:
    _load(
        workforce,
        "assessments",
        ("Năm", "Khung năng lực", "Mức", "Nhóm đối tượng", "Mã cơ quan", "Mã phường/xã",
         "Số người được đánh giá"),
        ("2026", "DigComp 2.2", "Cơ bản", "civil_servants", "SYT", "", "300"),
        ("2026", "DigComp 2.2", "Trung cấp", "civil_servants", "SYT", "", "120"),
        ("2026", "DigComp 2.2", "Cơ bản", "civil_servants", "SXD", "", "80"),
    )  # fmt: skip
    with workforce.session() as session:
        assert service.assessment_counts(session, year=2026) == {"Cơ bản": 380, "Trung cấp": 120}
        assert service.assessment_counts(session, year=2026, agency_code="SXD") == {"Cơ bản": 80}
        assert service.staff_counts(session, year=2026) == {
            "civil_servants": 1500,
            "dx_dedicated": 4,
            "it_specialist": 8,
        }


def test_the_summary_is_scoped_for_officers(workforce: Database) -> None:
    everything = service.summary(workforce, ADMIN, year=2026)
    assert everything["groups"]["civil_servants"] == {
        "courses": 1,
        "enrolled": 130,
        "completed": 115,
    }
    assert everything["shares"]["people"] == {"completed": 600, "headcount": 15000}
    assert set(everything["agencies"]) == {"SYT", "SXD", "UBND-NINHKIEU", "UBND-CAIRANG"}
    assert everything["wards"]["31135"]["members_per_100"] == 0.1
    assert everything["coverage"]["teams"] == 4
    officer = Principal(username="nk", role="agency_officer", agencies=frozenset({"UBND-NINHKIEU"}))
    own = service.summary(workforce, officer, year=2026)
    assert set(own["agencies"]) == {"UBND-NINHKIEU"}
    assert {t["code"] for t in own["teams"]} == {"NK-1", "NK-2"}
    assert own["staff"] == {} and own["coverage"] is None
    assert own["shares"] == {}  # city-wide figures

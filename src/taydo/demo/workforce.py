"""The demo's digital workforce: made-up but plausible figures for this year and the last,
written through the workforce import pipeline (the same checks as an agency's file).

Every course name and population source says DEMO: none of these figures is a statistic."""

from __future__ import annotations

import random
from datetime import date

from taydo.catalog.service import list_agencies
from taydo.core import clock
from taydo.core.db import Database
from taydo.demo.people import ADMIN
from taydo.geo.service import list_areas
from taydo.workforce.service import import_file

__all__ = ["seed_workforce"]

WARDS = 14  # wards with community teams in the demo
DEMO_SOURCE = "Số liệu minh họa (DEMO), không phải số liệu thống kê"
_WARD_AGENCIES = {"31135": "UBND-NINHKIEU", "31186": "UBND-CAIRANG"}


def _csv(headers: tuple[str, ...], rows: list[tuple[object, ...]]) -> bytes:
    lines = [";".join(headers), *(";".join(str(c) for c in row) for row in rows)]
    return "\n".join(lines).encode("utf-8")


def _import(
    database: Database, kind: str, headers: tuple[str, ...], rows: list[tuple[object, ...]]
) -> int:
    summary = import_file(database, ADMIN, kind, f"demo-{kind}.csv", _csv(headers, rows))
    if summary["status"] != "stored":  # demo data the pipeline refuses is a bug in this file
        raise RuntimeError(f"demo workforce {kind}: {summary['problems'][:3]}")
    return int(summary["rows_stored"])


def _day(text: str) -> date:
    day, month, year = (int(part) for part in text.split("/"))
    return date(year, month, day)


def _courses(year: int) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for y in (year - 1, year):
        rows += [
            (f"ND-{y}-1", f"Kỹ năng số cơ bản cho người dân {y} (DEMO)", "SKHCN", "people",
             "in_person", 4, f"01/03/{y}", f"30/06/{y}"),
            (f"ND-{y}-2", f"Dịch vụ công trực tuyến và thanh toán số {y} (DEMO)", "TTPVHCC",
             "people", "blended", 3, f"01/07/{y}", f"30/09/{y}"),
            (f"CC-{y}-1", f"Bồi dưỡng chuyển đổi số cho cán bộ, công chức {y} (DEMO)", "SKHCN",
             "civil_servants", "online", 16, f"01/02/{y}", f"31/05/{y}"),
            (f"CC-{y}-2", f"Khai thác dữ liệu và nền tảng số {y} (DEMO)", "VPUBND",
             "civil_servants", "blended", 24, f"01/08/{y}", f"31/10/{y}"),
            (f"IT-{y}-1", f"An toàn thông tin cho cán bộ chuyên trách {y} (DEMO)", "SKHCN",
             "it_workforce", "in_person", 40, f"01/04/{y}", f"30/06/{y}"),
        ]  # fmt: skip
    return rows


def seed_workforce(database: Database, province: str = "92", *, seed: int = 17) -> dict[str, int]:
    """Load the demo workforce (idempotent: rows are updated by their keys); returns the rows
    stored by kind."""
    rng = random.Random(seed)
    year = clock.now().year
    agencies = [a["code"] for a in list_agencies(database, limit=1000)[0]]
    if "SKHCN" not in agencies:
        return {}  # the Cần Thơ pack is not loaded: nothing to attach the workforce to
    wards_found, _n = list_areas(database, parent=province, limit=10_000)
    codes = [w["code"] for w in wards_found]
    wards = [c for c in _WARD_AGENCIES if c in codes]
    wards += [c for c in codes if c not in wards][: WARDS - len(wards)]
    stored: dict[str, int] = {}
    today = clock.now().date()
    # Only courses that have ended can have completions: this year's later ones wait.
    courses = [c for c in _courses(year) if _day(str(c[7])) <= today]
    ended = {str(c[0]) for c in courses}
    stored["courses"] = _import(
        database,
        "courses",
        ("Mã khóa học", "Tên khóa học", "Mã cơ quan tổ chức", "Nhóm đối tượng", "Hình thức",
         "Số giờ", "Ngày bắt đầu", "Ngày kết thúc"),
        courses,
    )  # fmt: skip
    staff: list[tuple[object, ...]] = []
    training: list[tuple[object, ...]] = []
    assessments: list[tuple[object, ...]] = []
    for agency in agencies:
        size = rng.randint(40, 900)
        for y in (year - 1, year):
            staff += [
                (y, agency, "civil_servants", size),
                (y, agency, "dx_dedicated", max(1, size // 150)),
                (y, agency, "it_specialist", max(1, size // 80)),
            ]
            for course in (f"CC-{y}-1", f"CC-{y}-2"):
                enrolled = int(size * rng.uniform(0.25, 0.6))
                training.append(
                    (course, agency, "", enrolled, int(enrolled * rng.uniform(0.7, 0.95)))
                )
            it_staff = max(1, size // 150) + max(1, size // 80)
            training.append((f"IT-{y}-1", agency, "", it_staff, rng.randint(0, it_staff)))
        for level, share in (("Cơ bản", 0.5), ("Trung cấp", 0.3), ("Nâng cao", 0.08)):
            assessments.append(
                (year, "Khung năng lực số (DEMO)", level, "civil_servants", agency, "",
                 int(size * share * rng.uniform(0.8, 1.1)))
            )  # fmt: skip
    populations: list[tuple[object, ...]] = []
    teams: list[tuple[object, ...]] = []
    activities: list[tuple[object, ...]] = []
    for ward in wards:
        residents = rng.randint(18_000, 75_000)
        agency = _WARD_AGENCIES.get(ward, "SKHCN")
        populations.append((ward, year - 1, residents, DEMO_SOURCE, "SKHCN"))
        for y in (year - 1, year):
            for course in (f"ND-{y}-1", f"ND-{y}-2"):
                enrolled = int(residents * rng.uniform(0.01, 0.04))
                training.append(
                    (course, agency, ward, enrolled, int(enrolled * rng.uniform(0.75, 0.95)))
                )
        place = "Khu vực" if ward in _WARD_AGENCIES else "Ấp"
        for n in range(1, rng.randint(3, 8) + 1):
            code = f"TCNS-{ward}-{n:02d}"
            started = date(year - 1, rng.randint(1, 12), 1)
            teams.append(
                (
                    code,
                    ward,
                    f"{place} {n}",
                    agency,
                    rng.randint(4, 9),
                    started.strftime("%d/%m/%Y"),
                )
            )
            for month in range(1, 13):
                when = date(year - 1, month, 1)
                if when >= started:
                    activities.append(
                        (code, when.strftime("%m/%Y"), rng.randint(1, 6), rng.randint(5, 60))
                    )
            for month in range(1, clock.now().month + 1):
                activities.append(
                    (code, f"{month:02d}/{year}", rng.randint(1, 6), rng.randint(5, 60))
                )
    stored["staff"] = _import(
        database, "staff", ("Năm", "Mã cơ quan", "Loại nhân lực", "Số người"), staff
    )
    stored["training"] = _import(
        database,
        "training",
        ("Mã khóa học", "Mã cơ quan", "Mã phường/xã", "Số đăng ký", "Số hoàn thành"),
        [row for row in training if row[0] in ended],
    )
    stored["assessments"] = _import(
        database,
        "assessments",
        ("Năm", "Khung năng lực", "Mức", "Nhóm đối tượng", "Mã cơ quan", "Mã phường/xã",
         "Số người được đánh giá"),
        assessments,
    )  # fmt: skip
    stored["populations"] = _import(
        database,
        "populations",
        ("Mã phường/xã", "Năm", "Số dân", "Nguồn số liệu", "Mã cơ quan"),
        populations,
    )
    stored["teams"] = _import(
        database,
        "teams",
        ("Mã tổ", "Mã phường/xã", "Ấp/khu vực", "Mã cơ quan", "Số thành viên", "Ngày thành lập"),
        teams,
    )
    stored["team_activities"] = _import(
        database,
        "team_activities",
        ("Mã tổ", "Tháng", "Số buổi hỗ trợ", "Số hộ được hỗ trợ"),
        activities,
    )
    return stored

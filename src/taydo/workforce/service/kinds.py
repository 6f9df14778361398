"""What each importable kind of workforce data is: its columns (Vietnamese headers), their
types, its natural key, and its table. One table of declarations, read by the generic import
(``imports.py``) and the template writer; adding a kind is adding a row here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taydo.core.db import Base
from taydo.workforce.models import (
    Assessment,
    Course,
    Population,
    StaffCount,
    Team,
    TeamActivity,
    Training,
)

__all__ = [
    "GROUPS",
    "KINDS",
    "MODES_OF_STUDY",
    "STAFF_KINDS",
    "Choice",
    "Column",
    "Kind",
]


@dataclass(frozen=True)
class Choice:
    code: str
    vi: str
    en: str


GROUPS = (
    Choice("people", "Người dân", "People"),
    Choice("civil_servants", "Cán bộ, công chức, viên chức", "Civil servants"),
    Choice("it_workforce", "Nhân lực CNTT", "IT workforce"),
)
MODES_OF_STUDY = (
    Choice("in_person", "Trực tiếp", "In person"),
    Choice("online", "Trực tuyến", "Online"),
    Choice("blended", "Kết hợp", "Blended"),
)
STAFF_KINDS = (
    Choice("civil_servants", "Cán bộ, công chức, viên chức", "Civil servants (all)"),
    Choice("dx_dedicated", "Chuyên trách chuyển đổi số", "Dedicated digital transformation"),
    Choice("it_specialist", "Chuyên trách CNTT", "IT specialists"),
)


@dataclass(frozen=True)
class Column:
    """One column of a kind's file.

    ``type``: text | count (a whole number ≥ 0) | hours (a number > 0) | date | month | year |
    choice | area (an official ward/commune code) | agency (a catalog agency code, which the
    importing user must be allowed to write) | course / team (the code of one already stored).
    """

    field: str
    header: str  # Vietnamese, as the template writes it
    type: str
    required: bool = True
    choices: tuple[Choice, ...] = ()
    max_chars: int = 200


@dataclass(frozen=True)
class Kind:
    code: str
    vi: str
    en: str
    model: type[Base]
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # the fields that name one row: importing it again updates it


_AGENCY = Column("agency_code", "Mã cơ quan", "agency")
_AREA_OPTIONAL = Column("area_code", "Mã phường/xã", "area", required=False)
_YEAR = Column("year", "Năm", "year")

KINDS: dict[str, Kind] = {
    kind.code: kind
    for kind in (
        Kind(
            "courses",
            "Chương trình, khóa đào tạo",
            "Training programmes and courses",
            Course,
            (
                Column("code", "Mã khóa học", "text", max_chars=60),
                Column("name", "Tên khóa học", "text", max_chars=300),
                Column("agency_code", "Mã cơ quan tổ chức", "agency"),
                Column("group", "Nhóm đối tượng", "choice", choices=GROUPS),
                Column("mode", "Hình thức", "choice", choices=MODES_OF_STUDY),
                Column("hours", "Số giờ", "hours"),
                Column("starts_on", "Ngày bắt đầu", "date"),
                Column("ends_on", "Ngày kết thúc", "date"),
            ),
            ("code",),
        ),
        Kind(
            "training",
            "Số người đăng ký, hoàn thành",
            "Enrolments and completions",
            Training,
            (
                Column("course_id", "Mã khóa học", "course"),
                _AGENCY,
                _AREA_OPTIONAL,
                Column("enrolled", "Số đăng ký", "count"),
                Column("completed", "Số hoàn thành", "count"),
            ),
            ("course_id", "agency_code", "area_code"),
        ),
        Kind(
            "assessments",
            "Đánh giá kỹ năng số",
            "Skill assessments",
            Assessment,
            (
                _YEAR,
                Column("framework", "Khung năng lực", "text", max_chars=80),
                Column("level", "Mức", "text", max_chars=40),
                Column("group", "Nhóm đối tượng", "choice", choices=GROUPS),
                _AGENCY,
                _AREA_OPTIONAL,
                Column("assessed", "Số người được đánh giá", "count"),
            ),
            ("year", "framework", "level", "group", "agency_code", "area_code"),
        ),
        Kind(
            "staff",
            "Nhân lực chuyên trách theo cơ quan",
            "Staff per agency",
            StaffCount,
            (
                _YEAR,
                _AGENCY,
                Column("kind", "Loại nhân lực", "choice", choices=STAFF_KINDS),
                Column("headcount", "Số người", "count"),
            ),
            ("year", "agency_code", "kind"),
        ),
        Kind(
            "teams",
            "Tổ công nghệ số cộng đồng",
            "Community digital technology teams",
            Team,
            (
                Column("code", "Mã tổ", "text", max_chars=60),
                Column("area_code", "Mã phường/xã", "area"),
                Column("place", "Ấp/khu vực", "text"),
                _AGENCY,
                Column("members", "Số thành viên", "count"),
                Column("established_on", "Ngày thành lập", "date"),
            ),
            ("code",),
        ),
        Kind(
            "team_activities",
            "Hoạt động của tổ công nghệ số",
            "Team activities",
            TeamActivity,
            (
                Column("team_id", "Mã tổ", "team"),
                Column("month", "Tháng", "month"),
                Column("sessions", "Số buổi hỗ trợ", "count"),
                Column("households", "Số hộ được hỗ trợ", "count"),
            ),
            ("team_id", "month"),
        ),
        Kind(
            "populations",
            "Dân số phường/xã",
            "Ward populations",
            Population,
            (
                Column("area_code", "Mã phường/xã", "area"),
                _YEAR,
                Column("residents", "Số dân", "count"),
                Column("source", "Nguồn số liệu", "text", max_chars=300),
                _AGENCY,
            ),
            ("area_code", "year"),
        ),
    )
}


def choice_of(column: Column, raw: str) -> str | None:
    """The code a cell names: the code itself or its Vietnamese or English label, in any
    case and spacing."""
    wanted = " ".join(raw.split()).casefold()
    for choice in column.choices:
        if wanted in (choice.code.casefold(), choice.vi.casefold(), choice.en.casefold()):
            return choice.code
    return None


def describe(value: Any) -> str:
    return "" if value is None else str(value)

"""The demo's directives: a few tasks from the city leader to Cần Thơ agencies (codes from
``packs/cantho/data/agencies.yaml``) at different points of their life — one done on time,
one overdue, one urgent for the king tide under way, one tied to a KPI.

They are made through the directive services, as people would make them, with the clock set
back to when each step happened, so the journal, the timelines and the on-time rates read as
a real history. Seeding runs once (an existing directive means it ran) and before the server
starts, so the moved clock is seen by nothing else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta

from taydo.core import clock
from taydo.core.db import Database
from taydo.demo.people import LEADER, officer
from taydo.directives.service import (
    accept,
    acknowledge,
    check_deadlines,
    complete,
    issue,
    list_directives,
    report_progress,
)

__all__ = ["seed_directives"]


@contextlib.contextmanager
def _at(moment: datetime) -> Iterator[None]:
    """Run the services as if it were ``moment`` (see the module's docstring)."""
    real = clock.now
    clock.now = lambda: moment
    try:
        yield
    finally:
        clock.now = real


def seed_directives(database: Database, *, king_tide_incident: int | None = None) -> int:
    """Create the demo's directives unless some exist; returns how many were created.

    ``king_tide_incident``: the id of the live king-tide incident, when the incidents domain
    made one, so the urgent directive links to it."""
    if list_directives(database, None, limit=1):
        return 0
    now = clock.now().replace(second=0, microsecond=0)
    day, hour = timedelta(days=1), timedelta(hours=1)

    # Done on time: the riverbank at Cái Khế checked and shored up.
    with _at(now - 6 * day):
        kè = issue(
            database,
            LEADER,
            title="Kiểm tra, gia cố kè sông Cần Thơ đoạn Cái Khế",
            description="Kiểm tra vết nứt kè, gia cố tạm thời trước đợt triều cường; báo cáo "
            "kết quả kèm hình ảnh hiện trường.",
            agencies=["SXD"],
            due_at=now - 2 * day,
            priority="high",
        )["id"]
    with _at(now - 6 * day + 2 * hour):
        acknowledge(database, officer("SXD"), kè, "SXD")
    with _at(now - 4 * day):
        report_progress(
            database, officer("SXD"), kè, "SXD", percent=50, note="Đã khảo sát 400 m kè"
        )
    with _at(now - 3 * day):
        complete(
            database,
            officer("SXD"),
            kè,
            "SXD",
            note="Đã gia cố 120 m bằng cọc cừ và bao cát; lắp biển cảnh báo.",
        )
    with _at(now - 3 * day + 3 * hour):
        accept(database, LEADER, kè, "SXD", note="Đạt yêu cầu")

    # Overdue: the salinity report the agriculture department still owes.
    with _at(now - 5 * day):
        mặn = issue(
            database,
            LEADER,
            title="Báo cáo diễn biến xâm nhập mặn và phương án cấp nước sinh hoạt",
            description="Tổng hợp số liệu độ mặn các trạm, dự báo 2 tuần tới, phương án cấp "
            "nước cho các xã ven biển Sóc Trăng cũ.",
            agencies=["SNNMT"],
            due_at=now - 1 * day,
        )["id"]
    with _at(now - 4 * day):
        acknowledge(database, officer("SNNMT"), mặn, "SNNMT")
    with _at(now - 3 * day):
        report_progress(
            database,
            officer("SNNMT"),
            mặn,
            "SNNMT",
            percent=30,
            note="Đã tổng hợp số liệu 6/12 trạm",
        )

    # Urgent, under way: the king tide in Ninh Kiều.
    with _at(now - 3 * hour):
        triều = issue(
            database,
            LEADER,
            title="Ứng phó triều cường: kê kích hàng hóa, phân luồng giao thông Ninh Kiều",
            description="Huy động lực lượng hỗ trợ người dân kê kích tài sản; phân luồng các "
            "tuyến ngập sâu; báo cáo mỗi 2 giờ.",
            agencies=["UBND-NINHKIEU", "SXD", "CATP"],
            due_at=now + 1 * day,
            priority="urgent",
            incident_id=king_tide_incident,
        )["id"]
    with _at(now - 2 * hour):
        acknowledge(database, officer("UBND-NINHKIEU"), triều, "UBND-NINHKIEU")
        acknowledge(database, officer("CATP"), triều, "CATP")
    with _at(now - 1 * hour):
        report_progress(
            database,
            officer("UBND-NINHKIEU"),
            triều,
            "UBND-NINHKIEU",
            percent=40,
            note="Đã kê kích 35 hộ dọc đường Hai Bà Trưng",
        )

    # Tied to a KPI: online public services.
    with _at(now - 2 * day):
        dvc = issue(
            database,
            LEADER,
            title="Nâng tỷ lệ hồ sơ dịch vụ công trực tuyến toàn trình",
            description="Rà soát thủ tục còn tiếp nhận trực tiếp; đề xuất lộ trình đạt 80% "
            "trong quý.",
            agencies=["TTPVHCC"],
            due_at=now + 10 * day,
            kpi_code="dvc-truc-tuyen-toan-trinh",
        )["id"]
    with _at(now - 1 * day):
        acknowledge(database, officer("TTPVHCC"), dvc, "TTPVHCC")

    # Flag what is overdue now (the server's duty would do it within a minute).
    check_deadlines(database, remind_before=timedelta(hours=24))
    return 4

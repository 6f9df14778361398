"""Citizen reports of the demo: a dozen field reports around Cần Thơ, most of them flooding in
Ninh Kiều (the ward whose river gauge the king tide pushes past its alarm levels), at several
stages of their lifecycle. Seeded once: a demo that already holds reports keeps its own."""

from __future__ import annotations

from typing import Any

from taydo.citizen.service import NewReport, act, create_report, list_reports, rate
from taydo.core.db import Database
from taydo.demo.people import OPERATOR
from taydo.incidents.service import remember_report

__all__ = ["seed_reports"]

NINH_KIEU, CAI_RANG, BINH_THUY = "31135", "31186", "31168"
DEEP = {"do-sau": "bap-chan"}

# (service, lat, lon, ward, description, attributes, what happened since)
REPORTS: list[tuple[str, float, float, str, str, dict[str, Any], str]] = [
    (
        "ngap-nuoc",
        10.0330,
        105.7872,
        NINH_KIEU,
        "Nước triều tràn lên bến Ninh Kiều, ngập tới bắp chân",
        DEEP,
        "open",
    ),
    (
        "ngap-nuoc",
        10.0311,
        105.7829,
        NINH_KIEU,
        "Đường Phan Đình Phùng ngập, xe máy chết máy",
        {"do-sau": "dau-goi", "xe-qua-duoc": "khong"},
        "acknowledged",
    ),
    (
        "ngap-nuoc",
        10.0342,
        105.7790,
        NINH_KIEU,
        "Hẻm 51 Trần Văn Khéo nước dâng vào nhà",
        DEEP,
        "open",
    ),
    (
        "ngap-nuoc",
        10.0298,
        105.7765,
        NINH_KIEU,
        "Mậu Thân đoạn gần chợ ngập sâu",
        DEEP,
        "in_progress",
    ),
    (
        "ngap-nuoc",
        10.0285,
        105.7851,
        NINH_KIEU,
        "Triều cường tràn qua kè Hai Bà Trưng",
        {"do-sau": "mat-ca-chan"},
        "open",
    ),
    ("rac-thai", 10.0378, 105.7801, NINH_KIEU, "Bãi rác tự phát ven rạch Khai Luông", {}, "closed"),
    (
        "den-duong",
        10.0255,
        105.7703,
        NINH_KIEU,
        "Ba cột đèn liền nhau không sáng",
        {"so-cot": "NK-1182"},
        "acknowledged",
    ),
    ("o-ga", 10.0126, 105.7612, CAI_RANG, "Ổ gà lớn trên đường Võ Nguyên Giáp", {}, "closed"),
    ("cay-xanh", 10.0061, 105.7745, CAI_RANG, "Cây dầu gãy cành sau mưa giông", {}, "open"),
    (
        "sat-lo",
        9.9985,
        105.7801,
        CAI_RANG,
        "Vết nứt dài ven sông Cần Thơ gần chợ nổi",
        {},
        "in_progress",
    ),
    (
        "o-nhiem",
        10.0702,
        105.7550,
        BINH_THUY,
        "Mùi hôi từ cống thoát nước",
        {"loai": ["mui-hoi", "nuoc-thai"]},
        "open",
    ),
    ("mat-nuoc", 10.0640, 105.7480, BINH_THUY, "Mất nước từ sáng", {}, "closed"),
]


def seed_reports(database: Database) -> int:
    """File the demo's reports (once); returns how many were filed."""
    if list_reports(database, None, limit=1):
        return 0
    for service, lat, lon, ward, text, attributes, stage in REPORTS:
        report, event = create_report(
            database,
            NewReport(
                service_code=service,
                lat=lat,
                lon=lon,
                area_code=ward,
                description=text,
                attributes=attributes,
                contact_name="Người dân (demo)",
            ),
        )
        if stage in ("acknowledged", "in_progress", "closed"):
            _r, event = act(database, OPERATOR, report["id"], "acknowledged")
        if stage in ("in_progress", "closed"):
            _r, event = act(database, OPERATOR, report["id"], "in_progress")
        if stage == "closed":
            _r, event = act(database, OPERATOR, report["id"], "closed", note="Đã xử lý xong (demo)")
            rate(database, report["token"], 4)
        # The running server tells the incidents domain of each report over the bus; the demo
        # files these before it runs, so it tells it here: otherwise an operator could not
        # link a demo report to an incident (422 "unknown citizen reports").
        remember_report(database, event)
    return len(REPORTS)

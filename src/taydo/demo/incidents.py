"""The demo's live king-tide incident: "Ngập do triều cường" in Ninh Kiều ward, linked to the
water-level alert of the Cần Thơ station when the demo has one and to the ward's flood reports
of citizens (so its map shows alarms and reports together), with its SOP half done."""

from __future__ import annotations

from datetime import timedelta

from taydo.alerts.service import list_alerts
from taydo.citizen.service import list_reports
from taydo.core import clock
from taydo.core.db import Database
from taydo.demo.people import OPERATOR
from taydo.incidents.schemas import AssignIn, IncidentIn, NoteIn, StepDoneIn
from taydo.incidents.service import (
    add_note,
    assign,
    complete_step,
    create,
    get_incident,
    remember_report,
)
from taydo.incidents.service import list_incidents as find_incidents

__all__ = ["seed_incidents"]

WARD = "31135"  # Phường Ninh Kiều
STATION = "urn:ngsi-ld:WaterObserved:can-tho"
# What the first three steps record (the half of the SOP already done)
DONE: tuple[dict[str, str | float | bool], ...] = (
    {"water_level_m": 2.08, "flooded_streets": "Hai Bà Trưng, Phan Đình Phùng, Tân Trào"},
    {"peak_time": "18:30", "peak_level_m": 2.15},
    {},
)


def seed_incidents(database: Database) -> int | None:
    """Create the incident once (an open one in the ward is kept); returns its id."""
    existing = find_incidents(
        database, None, incident_type="tidal-flooding", area=WARD, active=True, limit=1
    )
    if existing:
        return int(existing[0]["id"])
    alarms = list_alerts(database, None, area=WARD, rule="water-level-alarm", limit=1)
    floods = list_reports(database, None, service="ngap-nuoc", area=WARD, open_only=True)
    for report in floods:  # known to the incidents domain even in a database of an older demo
        remember_report(database, report)
    body = IncidentIn(
        type="tidal-flooding",
        title="Ngập do triều cường — phường Ninh Kiều",
        description=(
            "Triều cường kết hợp mưa lớn, nước sông Hậu vượt báo động 3 tại trạm Cần Thơ; "
            "nhiều tuyến đường trung tâm ngập 20–40 cm."
        ),
        severity="warning",
        lat=10.0342,
        lon=105.7852,
        area_code=WARD,
        agency_code="SXD",
        started_at=clock.now() - timedelta(minutes=50),
        alert_id=alarms[0]["id"] if alarms else None,
        entity_ids=[] if alarms else [STATION],
        report_ids=[int(r["id"]) for r in floods],
    )
    incident, _event = create(database, OPERATOR, body)
    iid = int(incident["id"])
    assign(
        database,
        OPERATOR,
        iid,
        AssignIn(
            agency_code="SXD",
            assignees=["agency:CATP", "agency:UBND-NINHKIEU", "user:can-bo-sxd"],
        ),
    )
    steps = get_incident(database, OPERATOR, iid)["steps"]
    for step, data in zip(steps, DONE, strict=False):
        complete_step(database, OPERATOR, iid, step["id"], StepDoneIn(data=data))
    add_note(
        database,
        OPERATOR,
        iid,
        NoteIn(body="Đã gửi cảnh báo trên loa phát thanh phường và ứng dụng Cần Thơ 1022."),
    )
    add_note(
        database,
        OPERATOR,
        iid,
        NoteIn(body="Trạm bơm Cái Khế đang bảo trì một máy, cần bơm lưu động.", internal=True),
    )
    return iid

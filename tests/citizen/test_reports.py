"""Reports as a service: routing by ward and category, due times, duplicate suggestions, the
lifecycle with reopening and rating, agency scope, and the KPI engine's counts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from taydo.citizen.service import (
    NewReport,
    act,
    create_report,
    duplicates,
    get_report,
    link_incident,
    list_reports,
    merge,
    on_time_counts,
    rate,
    reopen,
    route,
    satisfaction,
)
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Conflict, Invalid, NotFound
from tests.citizen.conftest import CAI_RANG, ELSEWHERE, IN_CAI_RANG, IN_NINH_KIEU, NINH_KIEU

OPERATOR = Principal(username="op", role="operator")


def _file(database: Database, service: str, where: tuple[float, float], **fields: object) -> dict:
    report, event = create_report(
        database,
        NewReport(service_code=service, lat=where[0], lon=where[1], **fields),  # type: ignore[arg-type]
    )
    assert event["id"] == report["id"] and event["url"] == f"/citizen/reports/{report['id']}"
    return report


FLOOD = {"attributes": {"do-sau": "bap-chan"}}


def test_routing_by_ward_and_category(citizen_db: Database) -> None:
    # (flooding, Ninh Kiều) → the ward's committee; (flooding, Cái Răng) → that ward's
    flood_nk = _file(citizen_db, "ngap-nuoc", IN_NINH_KIEU, **FLOOD)
    assert (flood_nk["area_code"], flood_nk["agency_code"]) == (NINH_KIEU, "UBND-NINHKIEU")
    flood_cr = _file(citizen_db, "ngap-nuoc", IN_CAI_RANG, **FLOOD)
    assert (flood_cr["area_code"], flood_cr["agency_code"]) == (CAI_RANG, "UBND-CAIRANG")
    # (flooding, a ward without a row) → the category's department
    flood_far = _file(citizen_db, "ngap-nuoc", ELSEWHERE, **FLOOD)
    assert (flood_far["area_code"], flood_far["agency_code"]) == (None, "SXD")
    # (street light, Ninh Kiều): the category's row beats the ward's catch-all row
    light = _file(citizen_db, "den-duong", IN_NINH_KIEU)
    assert light["agency_code"] == "SXD"
    # (something else, Cái Răng) → the ward's catch-all; elsewhere → the city office
    assert _file(citizen_db, "khac", IN_CAI_RANG)["agency_code"] == "UBND-CAIRANG"
    assert _file(citizen_db, "khac", ELSEWHERE)["agency_code"] == "VPUBND"
    # a ward picked on the form counts when the map finds none
    picked = _file(citizen_db, "rac-thai", ELSEWHERE, area_code=CAI_RANG)
    assert (picked["area_code"], picked["agency_code"]) == (CAI_RANG, "UBND-CAIRANG")


def test_due_time_follows_the_category_sla(citizen_db: Database) -> None:
    before = clock.now()
    report = _file(citizen_db, "ngap-nuoc", IN_NINH_KIEU, **FLOOD)
    due = datetime.fromisoformat(report["due_at"])
    assert before + timedelta(hours=6) <= due <= clock.now() + timedelta(hours=6)


def test_bad_reports_are_refused_with_a_reason(citizen_db: Database) -> None:
    with pytest.raises(NotFound):
        _file(citizen_db, "no-such-service", IN_NINH_KIEU)
    with pytest.raises(Invalid, match="do-sau"):  # a required attribute
        _file(citizen_db, "ngap-nuoc", IN_NINH_KIEU)
    with pytest.raises(Invalid):  # not one of the list's keys
        _file(citizen_db, "ngap-nuoc", IN_NINH_KIEU, attributes={"do-sau": "ngap-mai"})
    with pytest.raises(Invalid):
        _file(citizen_db, "khac", (91.0, 105.0))
    with pytest.raises(Invalid):
        _file(citizen_db, "khac", IN_NINH_KIEU, description="x" * 4001)
    for bad in ("a\x00b", "bell\x07", "esc\x1b[31m"):  # PostgreSQL and XML refuse these
        with pytest.raises(Invalid):
            _file(citizen_db, "khac", IN_NINH_KIEU, description=bad)
    assert _file(citizen_db, "khac", IN_NINH_KIEU, description="hai\ndòng\ttab")["id"]


def test_duplicate_suggestions_same_category_near_and_recent(citizen_db: Database) -> None:
    first = _file(citizen_db, "ngap-nuoc", IN_NINH_KIEU, **FLOOD)
    near = (IN_NINH_KIEU[0] + 0.0005, IN_NINH_KIEU[1])  # ≈ 55 m north
    far = (IN_NINH_KIEU[0] + 0.005, IN_NINH_KIEU[1])  # ≈ 550 m north
    other_kind = _file(citizen_db, "rac-thai", near)

    def suggested(where: tuple[float, float], service: str = "ngap-nuoc", **kw: object) -> list:
        found = duplicates(
            citizen_db,
            service_code=service,
            lat=where[0],
            lon=where[1],
            radius_m=150,
            hours=24,
            **kw,  # type: ignore[arg-type]
        )
        return [d["id"] for d in found]

    assert suggested(near) == [first["id"]]
    assert (
        40
        < duplicates(
            citizen_db, service_code="ngap-nuoc", lat=near[0], lon=near[1], radius_m=150, hours=24
        )[0]["distance_m"]
        < 70
    )
    assert suggested(far) == []  # too far
    assert suggested(near, "rac-thai") == [other_kind["id"]]  # same place, its own category
    later = clock.now() + timedelta(hours=30)
    assert suggested(near, at=later) == []  # too long ago
    # no contact in a suggestion (they are shown to the public)
    shown = duplicates(
        citizen_db, service_code="ngap-nuoc", lat=near[0], lon=near[1], radius_m=150, hours=24
    )[0]
    assert "contact" not in shown
    # a closed report is no longer suggested
    act(citizen_db, OPERATOR, first["id"], "closed", note="đã bơm hết nước")
    assert suggested(near) == []


def test_merge_as_duplicate(citizen_db: Database) -> None:
    first = _file(citizen_db, "ngap-nuoc", IN_NINH_KIEU, **FLOOD)
    second = _file(citizen_db, "ngap-nuoc", IN_NINH_KIEU, **FLOOD)
    merged, event = merge(citizen_db, OPERATOR, second["id"], first["id"])
    assert merged["status"] == "closed" and merged["duplicate_of"] == first["id"]
    assert event["status"] == "closed"
    with pytest.raises(Conflict):  # a duplicate is no target
        merge(citizen_db, OPERATOR, first["id"], second["id"])


def test_lifecycle_reopen_and_rating(citizen_db: Database) -> None:
    report = _file(citizen_db, "o-ga", IN_NINH_KIEU, description="ổ gà lớn trước chợ")
    report_id, token = report["id"], report["token"]
    with pytest.raises(Conflict):  # rate before it is resolved
        rate(citizen_db, token, 5)
    with pytest.raises(Invalid):  # closing needs a note
        act(citizen_db, OPERATOR, report_id, "closed")
    assert act(citizen_db, OPERATOR, report_id, "acknowledged")[0]["status"] == "acknowledged"
    assert act(citizen_db, OPERATOR, report_id, "in_progress")[0]["status"] == "in_progress"
    with pytest.raises(Conflict):
        act(citizen_db, OPERATOR, report_id, "acknowledged")
    closed, event = act(citizen_db, OPERATOR, report_id, "closed", note="đã vá")
    assert closed["status"] == "closed" and event["status"] == "closed"
    # the reporter reopens it (within N days) …
    reopened, _event = reopen(citizen_db, token, days=7, note="lại bị bể")
    assert reopened["status"] == "open" and reopened["reopened"] == 1
    act(citizen_db, OPERATOR, report_id, "closed", note="đã vá lại")
    # … and rates it; an out-of-range rating is refused
    with pytest.raises(Invalid):
        rate(citizen_db, token, 6)
    assert rate(citizen_db, token, 4)[0]["rating"] == 4
    # past N days it can no longer be reopened
    with pytest.raises(Conflict, match="ngày"):
        reopen(citizen_db, token, days=0)
    with pytest.raises(NotFound):
        reopen(citizen_db, "not-a-token", days=7)
    history = [e["action"] for e in get_report(citizen_db, OPERATOR, report_id)["history"]]
    assert history == [
        "citizen.report_created",
        "citizen.acknowledged",
        "citizen.in_progress",
        "citizen.closed",
        "citizen.reopened",
        "citizen.closed",
        "citizen.rated",
    ]


def test_agency_officers_see_and_act_on_their_reports_only(citizen_db: Database) -> None:
    ours = _file(citizen_db, "ngap-nuoc", IN_NINH_KIEU, **FLOOD)
    theirs = _file(citizen_db, "ngap-nuoc", IN_CAI_RANG, **FLOOD)
    officer = Principal(username="nk", role="agency_officer", agencies=frozenset({"UBND-NINHKIEU"}))
    assert [r["id"] for r in list_reports(citizen_db, officer)] == [ours["id"]]
    with pytest.raises(NotFound):
        get_report(citizen_db, officer, theirs["id"])
    with pytest.raises(NotFound):
        act(citizen_db, officer, theirs["id"], "acknowledged")
    act(citizen_db, officer, ours["id"], "acknowledged")
    # routed away, the report leaves the officer's queue
    route(citizen_db, officer, ours["id"], "SXD", known_agencies={"SXD"})
    assert list_reports(citizen_db, officer) == []
    with pytest.raises(Invalid):
        route(citizen_db, OPERATOR, theirs["id"], "NOPE", known_agencies={"SXD"})


def test_incident_link_is_recorded(citizen_db: Database) -> None:
    report = _file(citizen_db, "ngap-nuoc", IN_NINH_KIEU, **FLOOD)
    assert link_incident(citizen_db, 42, [report["id"], 999_999]) == [report["id"]]
    assert get_report(citizen_db, OPERATOR, report["id"])["incident_id"] == 42
    assert link_incident(citizen_db, 42, [report["id"]]) == []  # heard twice: no new entry


def test_on_time_counts_and_satisfaction(citizen_db: Database) -> None:
    from taydo.citizen.models import CitizenReport

    now = clock.now()
    a = _file(citizen_db, "o-ga", IN_NINH_KIEU)  # closed on time
    b = _file(citizen_db, "o-ga", IN_NINH_KIEU)  # closed late
    c = _file(citizen_db, "o-ga", IN_NINH_KIEU)  # open, overdue
    d = _file(citizen_db, "o-ga", IN_CAI_RANG)  # open, not yet due
    for report in (a, b):
        act(citizen_db, OPERATOR, report["id"], "closed", note="xong")
    rate(citizen_db, a["token"], 5)
    rate(citizen_db, b["token"], 2)
    with citizen_db.session() as session:
        late = session.get(CitizenReport, b["id"])
        assert late is not None
        late.due_at = late.closed_at - timedelta(hours=1)  # type: ignore[operator]
        overdue = session.get(CitizenReport, c["id"])
        assert overdue is not None
        overdue.due_at = now - timedelta(hours=1)
    start, end = now - timedelta(days=1), now + timedelta(hours=1)
    with citizen_db.session() as session:
        assert on_time_counts(session, start=start, end=end) == (1, 3)
        assert on_time_counts(session, start=start, end=end, agency_code="SXD") == (1, 3)
        assert on_time_counts(session, start=start, end=end, area_code=CAI_RANG) == (0, 0)
        assert on_time_counts(session, start=end, end=end + timedelta(days=30)) == (0, 1)
        assert satisfaction(session, start=start, end=end) == (3.5, 2)
        assert satisfaction(session, start=start, end=end, agency_code="UBND-CAIRANG") == (
            None,
            0,
        )
    assert d["status"] == "open"


def test_the_first_report_of_a_new_database_gets_a_token_and_no_contact_leaks(
    citizen_db: Database,
) -> None:
    report = _file(
        citizen_db, "khac", IN_NINH_KIEU, contact_name="Nguyễn Văn A", contact_phone="0900000000"
    )
    from taydo.citizen.service import get_by_token

    public = get_by_token(citizen_db, report["token"])
    assert "contact" not in public and public["id"] == report["id"]
    assert get_report(citizen_db, OPERATOR, report["id"])["contact"]["name"] == "Nguyễn Văn A"
    with citizen_db.session() as session:
        from taydo.citizen.models import CitizenReport

        assert session.scalar(select(CitizenReport.token)) == report["token"]

"""The demo's directives: one done on time, one overdue, one urgent for the king tide, one
tied to a KPI; seeded once."""

from __future__ import annotations

from taydo.catalog.models import Agency
from taydo.core.db import Database
from taydo.demo.directives import seed_directives
from taydo.directives.service import agency_rates, get_directive, list_directives


def test_the_demo_directives(database: Database) -> None:
    with database.session() as session:
        for code in ("SXD", "SNNMT", "UBND-NINHKIEU", "CATP", "TTPVHCC"):
            session.add(Agency(code=code, name=code, name_en=code, kind="so"))
    assert seed_directives(database, king_tide_incident=12) == 4
    assert seed_directives(database) == 0  # once

    assert len(list_directives(database, None)) == 4
    overdue = list_directives(database, None, overdue=True)
    assert [d["agency_codes"] for d in overdue] == [["SNNMT"]]
    assert overdue[0]["assignments"][0]["overdue_flagged_at"] is not None
    completed = list_directives(database, None, status="completed")
    assert len(completed) == 1 and completed[0]["assignments"][0]["on_time"] is True
    tide = [d for d in list_directives(database, None) if d["priority"] == "urgent"]
    assert tide[0]["incident_id"] == 12 and len(tide[0]["agency_codes"]) == 3
    assert [
        d["kpi_code"] for d in list_directives(database, None, kpi_code="dvc-truc-tuyen-toan-trinh")
    ]
    rates = {r["agency_code"]: r for r in agency_rates(database, None)}
    assert rates["SXD"]["rate"] == 1.0 and rates["SNNMT"]["rate"] == 0.0
    story = get_directive(database, None, completed[0]["id"])["timeline"]
    assert [e["action"] for e in story] == [
        "issued",
        "acknowledged",
        "progress",
        "completed",
        "accepted",
    ]
    assert story[0]["at"] < story[-1]["at"]  # a history, not one instant

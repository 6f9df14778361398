"""The demo's citizen reports: filed once, routed by the pack's table, flooding in Ninh Kiều."""

from __future__ import annotations

from taydo.citizen.service import list_reports
from taydo.core.db import Database
from taydo.demo.citizen import seed_reports


def test_demo_reports_are_seeded_once_and_routed(citizen_db: Database) -> None:
    assert seed_reports(citizen_db) == 12
    assert seed_reports(citizen_db) == 0  # a second `make demo` keeps what is there
    reports = list_reports(citizen_db, None, limit=100)
    floods = [r for r in reports if r["service_code"] == "ngap-nuoc"]
    assert len(floods) == 5
    assert {(r["area_code"], r["agency_code"]) for r in floods} == {("31135", "UBND-NINHKIEU")}
    assert {r["status"] for r in reports} == {"open", "acknowledged", "in_progress", "closed"}
    assert all(r["rating"] == 4 for r in reports if r["status"] == "closed")

"""Reports are placed by the geo domain's in-memory locator: a boundary changed through the
API (or by another process) re-places the very next report, and a point in no ward is filed
with no area (routed by category) rather than refused."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from taydo.citizen.service import NewReport, create_key, create_report
from taydo.core.db import Database
from taydo.geo.service import set_area_geometry
from tests.citizen.conftest import CAI_RANG, ELSEWHERE, IN_NINH_KIEU, NINH_KIEU, _box


def _file(database: Database, where: tuple[float, float]) -> dict:
    report, _event = create_report(
        database, NewReport(service_code="rac-thai", lat=where[0], lon=where[1])
    )
    return report


def test_a_boundary_change_re_places_the_next_report(citizen_db: Database) -> None:
    assert _file(citizen_db, IN_NINH_KIEU)["area_code"] == NINH_KIEU
    assert _file(citizen_db, ELSEWHERE)["area_code"] is None
    # Cái Răng's outline now takes in the point that was elsewhere; Ninh Kiều moves away.
    set_area_geometry(citizen_db, CAI_RANG, _box(105.45, 10.15, 105.55, 10.25))
    set_area_geometry(citizen_db, NINH_KIEU, _box(106.0, 11.0, 106.1, 11.1))
    moved = _file(citizen_db, ELSEWHERE)
    assert (moved["area_code"], moved["agency_code"]) == (CAI_RANG, "UBND-CAIRANG")
    assert _file(citizen_db, IN_NINH_KIEU)["area_code"] is None


def test_a_change_by_another_process_re_places_the_next_report(citizen_db: Database) -> None:
    assert _file(citizen_db, ELSEWHERE)["area_code"] is None
    other = Database(citizen_db.url)  # `taydo geo import` in a process of its own
    try:
        set_area_geometry(other, CAI_RANG, _box(105.45, 10.15, 105.55, 10.25))
    finally:
        other.dispose()
    assert _file(citizen_db, ELSEWHERE)["area_code"] == CAI_RANG


def test_open311_post_follows_a_geometry_put_and_files_a_point_in_no_ward(
    citizen_client: TestClient, citizen_db: Database, headers_for: Callable[..., dict[str, str]]
) -> None:
    _record, key = create_key(citizen_db, "tests", actor="tests")

    def post(where: tuple[float, float]) -> dict:
        answer = citizen_client.post(
            "/open311/v2/requests.json",
            data={"api_key": key, "service_code": "khac", "lat": where[0], "long": where[1]},
        )
        assert answer.status_code == 200, answer.text
        found = citizen_client.get(
            f"/open311/v2/requests/{answer.json()[0]['service_request_id']}.json"
        )
        return found.json()[0]  # type: ignore[no-any-return]

    # A point in no ward: filed, and routed by category alone (the city office).
    assert post(ELSEWHERE)["agency_responsible"] == "Cơ quan VPUBND"
    put = citizen_client.put(
        f"/api/v1/areas/{CAI_RANG}/geometry",
        json=_box(105.45, 10.15, 105.55, 10.25),
        headers=headers_for("admin"),
    )
    assert put.status_code == 200, put.text
    assert post(ELSEWHERE)["agency_responsible"] == "Cơ quan UBND-CAIRANG"

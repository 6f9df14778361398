"""The demo's king-tide incident: linked to the station's water-level alert, SOP half done,
created once however often the demo starts."""

from __future__ import annotations

from taydo.citizen.service import list_reports
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.demo.citizen import seed_reports
from taydo.demo.incidents import seed_incidents
from taydo.incidents.schemas import LinkIn
from taydo.incidents.service import add_links, get_incident, list_incidents
from tests.citizen.conftest import prepare_citizen
from tests.incidents.conftest import make_alert


def test_the_demo_shows_a_live_king_tide_incident_with_its_sop_half_done(pack) -> None:
    alarm = make_alert(pack, "water-level-alarm", severity="danger")
    first = seed_incidents(pack)
    assert first is not None and seed_incidents(pack) == first
    assert len(list_incidents(pack, None)) == 1
    incident = get_incident(pack, None, first)
    assert incident["title"].startswith("Ngập do triều cường")
    assert incident["status"] == "in_progress"
    assert [link["ref"] for link in incident["links"] if link["kind"] == "alert"] == [
        str(alarm["id"])
    ]
    done = [s for s in incident["steps"] if s["status"] == "done"]
    assert len(done) == 3 and len(incident["steps"]) == 6
    assert any(n["internal"] for n in incident["notes"])


def test_the_demo_incident_links_the_wards_flood_reports_and_every_report_is_linkable(
    pack: Database,
) -> None:
    """The demo files its citizen reports before the server (and its bus) runs: the incidents
    domain must still know them, so the incident's map shows its reports and an operator can
    link any demo report to an incident."""
    prepare_citizen(pack)
    assert seed_reports(pack) == 12
    iid = seed_incidents(pack)
    assert iid is not None
    incident = get_incident(pack, None, iid)
    floods = list_reports(pack, None, service="ngap-nuoc", area="31135", open_only=True)
    assert len(floods) == 5  # the ward's flood reports, none closed
    linked = sorted(int(link["ref"]) for link in incident["links"] if link["kind"] == "report")
    assert linked == sorted(int(r["id"]) for r in floods)
    assert all(
        link["snapshot"]["area_code"] == "31135"
        for link in incident["links"]
        if link["kind"] == "report"
    )
    # Another demo report (a street light in the same ward) links by hand, as an operator would.
    light = next(r for r in list_reports(pack, None, limit=100) if r["service_code"] == "den-duong")
    operator = Principal(username="operator", role="operator")
    add_links(pack, operator, iid, LinkIn(report_ids=[int(light["id"])]))
    again = get_incident(pack, None, iid)
    assert str(light["id"]) in {link["ref"] for link in again["links"] if link["kind"] == "report"}

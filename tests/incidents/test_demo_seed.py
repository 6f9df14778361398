"""The demo's king-tide incident: linked to the station's water-level alert, SOP half done,
created once however often the demo starts."""

from __future__ import annotations

from taydo.demo.incidents import seed_incidents
from taydo.incidents.service import get_incident, list_incidents
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

"""The correlation rules are validated once and kept in memory, by their revision counter: a rule
changed through the API, or by the CLI in a process of its own, applies to the very next
report. And the report listener takes a burst of report events in one transaction."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from taydo.core import clock
from taydo.core.bus import settle
from taydo.core.db import Database
from taydo.core.runtime import runtime_of
from taydo.incidents.models import Incident, ReportSnapshot
from taydo.incidents.service import correlate, list_incidents, remember_report, take_reports
from taydo.incidents.service.definitions import correlation_rules
from tests.incidents.conftest import OTHER_WARD, PACK_DATA, WARD, report_event

POTHOLES = {
    "code": "pothole-burst",
    "type": "citizen-report",
    "title": "Nhiều ổ gà trong phường",
    "title_en": "Many potholes in the ward",
    "severity": "watch",
    "window_h": 3,
    "require": [{"report_services": ["o-ga"], "min_count": 1}],
}


def _count(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(Incident)) or 0)


def _snapshot(database: Database, report_id: int) -> ReportSnapshot | None:
    with database.session() as session:
        return session.get(ReportSnapshot, report_id)


def test_rules_are_validated_once_and_again_after_a_change(pack) -> None:
    first, second = correlation_rules(pack), correlation_rules(pack)
    assert [r.code for r in first] == ["king-tide-flood", "salinity"]
    assert all(a is b for a, b in zip(first, second, strict=True))  # not validated again
    from taydo.incidents.schemas import CorrelationDef
    from taydo.incidents.service import save_correlation

    changed = CorrelationDef.model_validate({**first[0].model_dump(), "window_h": 5})
    assert save_correlation(pack, changed, actor="test")
    after = correlation_rules(pack)
    assert after[0].window_h == 5 and after[0] is not first[0]


def test_a_rule_put_through_the_api_applies_to_the_next_report(pack, client, headers_for) -> None:
    runtime = runtime_of(client.app)
    admin = headers_for("admin")

    (listener,) = [  # the incidents domain's report listener
        s
        for s in runtime.bus._subscriptions
        if s.pattern == "citizen.report.*" and s.handler.__module__ == "taydo.incidents.runtime"
    ]

    def hear(report: dict[str, Any]) -> None:
        """Publish a report and wait until the listener took it, correlation included (a
        rule that must not apply is then shown not to have applied, not merely not yet)."""
        client.portal.call(runtime.bus.publish, "citizen.report.created", report)
        assert client.portal.call(settle, listener, 15.0)
        assert _snapshot(pack, report["id"]) is not None

    hear(report_event(801, service="o-ga"))  # no rule asks for potholes: the rules are cached
    assert _count(pack) == 0

    put = client.put("/api/v1/incident-correlations/pothole-burst", json=POTHOLES, headers=admin)
    assert put.status_code == 200, put.text
    hear(report_event(802, service="o-ga"))
    found = list_incidents(pack, None, limit=5)
    assert [i["correlation"] for i in found] == ["pothole-burst"]
    assert found[0]["area_code"] == WARD

    disabled = {**POTHOLES, "enabled": False}
    put = client.put("/api/v1/incident-correlations/pothole-burst", json=disabled, headers=admin)
    assert put.status_code == 200 and put.json()["changed"] is True
    hear(report_event(803, service="o-ga", area=OTHER_WARD))
    assert _count(pack) == 1  # the disabled rule opened nothing in the other ward

    put = client.put("/api/v1/incident-correlations/pothole-burst", json=POTHOLES, headers=admin)
    assert put.status_code == 200
    gone = client.delete("/api/v1/incident-correlations/pothole-burst", headers=admin)
    assert gone.status_code == 204
    hear(report_event(804, service="o-ga", area=OTHER_WARD))
    assert _count(pack) == 1  # deleted: nothing in the other ward either


def _cli(database: Database, *args: str) -> None:
    """``taydo`` in a process of its own (no bus, no shared memory with this one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAYDO_")}
    env["TAYDO_DATABASE_URL"] = database.url
    done = subprocess.run(
        [sys.executable, "-m", "taydo.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_rule_loaded_by_the_cli_in_another_process_applies_to_the_next_report(
    pack, tmp_path: Path
) -> None:
    report = remember_report(pack, report_event(901, service="o-ga"))
    assert report is not None
    assert correlate(pack, "report", report) == []  # the pack's rules, cached in this process

    data = yaml.safe_load((PACK_DATA / "incidents.yaml").read_text(encoding="utf-8"))
    data["correlation"].append(POTHOLES)
    file = tmp_path / "incidents.yaml"
    file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    _cli(pack, "incidents", "sop", "load", str(file))

    events = take_reports(pack, [(True, report_event(902, service="o-ga"))])
    assert [e["report_ids"] for e in events] == [[901, 902]]
    assert list_incidents(pack, None, limit=5)[0]["correlation"] == "pothole-burst"

    # the CLI changes the rule again: one report is now not enough
    data["correlation"][-1]["require"][0]["min_count"] = 2
    file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    _cli(pack, "incidents", "sop", "load", str(file))
    assert take_reports(pack, [(True, report_event(903, service="o-ga", area=OTHER_WARD))]) == []
    assert _count(pack) == 1


def test_a_burst_of_report_events_is_taken_in_one_batch(pack) -> None:
    from tests.incidents.conftest import make_alert

    make_alert(pack, "water-level-alarm")
    make_alert(pack, "water-level-rising-fast")
    burst = [
        (True, report_event(1001)),
        (False, {"id": "not a number"}),  # malformed: skipped, the rest still taken
        (True, report_event(1002, service="o-ga")),
        (False, report_event(1001, status="closed")),  # the update, heard after its creation
        (True, report_event(1003)),
    ]
    events = take_reports(pack, burst)
    assert _count(pack) == 1
    assert events and {r for e in events for r in e["report_ids"]} == {1001, 1003}
    snapshot = _snapshot(pack, 1001)
    assert snapshot is not None and snapshot.data["status"] == "closed"
    assert _snapshot(pack, 1002) is not None
    incident = list_incidents(pack, None, limit=5)[0]
    assert incident["correlation"] == "king-tide-flood"


def test_every_rule_write_raises_the_revision_and_an_unsaved_change_is_not_kept(pack) -> None:
    from taydo.incidents.models import CorrelationRevision, CorrelationRule
    from taydo.incidents.schemas import CorrelationDef
    from taydo.incidents.service import delete_correlation, save_correlation
    from taydo.incidents.service.definitions import correlation_rules_in

    def revision() -> int:
        with pack.session() as session:
            return int(session.scalar(select(CorrelationRevision.revision)) or 0)

    before = revision()
    cached = correlation_rules(pack)
    assert correlation_rules(pack)[0] is cached[0]  # the same revision: the same copy
    assert save_correlation(pack, CorrelationDef.model_validate(POTHOLES), actor="test")
    assert revision() == before + 1
    assert "pothole-burst" in [r.code for r in correlation_rules(pack)]
    delete_correlation(pack, "pothole-burst", actor="test")
    assert revision() == before + 2
    assert "pothole-burst" not in [r.code for r in correlation_rules(pack)]

    # A rule written in a transaction that is rolled back: that transaction sees it, the
    # cache never keeps it, and the next reader does not see it.
    draft = {**POTHOLES, "code": "zz-draft"}
    with pytest.raises(RuntimeError), pack.session() as session:
        session.add(CorrelationRule(code="zz-draft", definition=draft, updated_at=clock.now()))
        session.flush()
        assert "zz-draft" in [r.code for r in correlation_rules_in(session)]
        raise RuntimeError("rolled back")
    assert "zz-draft" not in [r.code for r in correlation_rules(pack)]
    assert revision() == before + 2

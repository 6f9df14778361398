"""``taydo directives list|show|overdue`` read what the services hold; a refusal exits 1."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from taydo.cli import app
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.directives import service
from tests.directives.conftest import Clock


def test_list_show_and_overdue(
    database: Database, agencies: list[str], monkeypatch: pytest.MonkeyPatch, moved_clock: Clock
) -> None:
    monkeypatch.setenv("TAYDO_DATABASE_URL", database.url)
    monkeypatch.setenv("COLUMNS", "200")
    leader = Principal("leader", "leader")
    soon = service.issue(
        database,
        leader,
        title="Nạo vét kênh",
        agencies=["SNNMT"],
        due_at=clock.now() + timedelta(hours=1),
    )["id"]
    later = service.issue(
        database, leader, title="Sửa cầu", agencies=["SXD"], due_at=clock.now() + timedelta(days=5)
    )["id"]
    runner = CliRunner()

    listed = runner.invoke(app, ["directives", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [d["id"] for d in json.loads(listed.output)] == [soon, later]
    only = runner.invoke(app, ["directives", "list", "--agency", "SXD", "--json"])
    assert [d["id"] for d in json.loads(only.output)] == [later]
    assert "Nạo vét kênh" in runner.invoke(app, ["directives", "list"]).output

    shown = runner.invoke(app, ["directives", "show", str(soon)])
    assert shown.exit_code == 0 and json.loads(shown.output)["timeline"][0]["action"] == "issued"
    assert runner.invoke(app, ["directives", "show", "999999"]).exit_code == 1

    assert "Nạo vét" not in runner.invoke(app, ["directives", "overdue"]).output
    moved_clock.advance(timedelta(hours=2))
    overdue = runner.invoke(app, ["directives", "overdue"])
    assert overdue.exit_code == 0 and "Nạo vét kênh" in overdue.output and "SNNMT" in overdue.output
    assert "Sửa cầu" not in overdue.output
    bad = runner.invoke(app, ["directives", "list", "--status", "weird"])
    assert bad.exit_code == 1 and "weird" in bad.output


def test_a_returned_completion_notifies_the_agency(
    client: Any, headers_for: Any, issue: Any, database: Database
) -> None:
    from sqlalchemy import select

    from taydo.alerts.models import Outbox

    admin = headers_for("admin")
    channel = {"code": "sxd-hook", "kind": "webhook", "config": {"url": "http://127.0.0.1:9/"}}
    assert client.put("/api/v1/notify/channels/sxd-hook", json=channel, headers=admin).is_success
    routes = [{"code": "sxd", "match": {"agencies": ["SXD"]}, "channels": ["sxd-hook"]}]
    assert client.put("/api/v1/notify/routes", json=routes, headers=admin).is_success
    did = issue(["SXD"])["id"]
    officer = headers_for("agency_officer", ["SXD"])
    base = f"/api/v1/directives/{did}/assignments/SXD"
    assert client.post(f"{base}/complete", json={"note": "Xong"}, headers=officer).is_success
    reason = {"reason": "Thiếu biên bản nghiệm thu"}
    assert client.post(f"{base}/return", json=reason, headers=issue.headers).is_success
    with database.session() as session:
        rows = session.scalars(select(Outbox).order_by(Outbox.id)).all()
        sent = [(row.event, row.payload["message"]) for row in rows]
    assert [event for event, _m in sent] == ["directive.assigned", "directive.returned"]
    returned = sent[1][1]
    assert returned["body"] == "Thiếu biên bản nghiệm thu" and returned["agency_code"] == "SXD"
    assert returned["extra"]["status"] == "in_progress"

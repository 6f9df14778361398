"""`taydo incidents …` against a real database: create, list, show, move, and the SOPs."""

from __future__ import annotations

import json

from sqlalchemy import text
from typer.testing import CliRunner

from taydo.cli import app
from tests.incidents.conftest import PACK_DATA, make_alert


def test_the_commands_create_list_show_and_move_incidents(pack, monkeypatch) -> None:
    monkeypatch.setenv("TAYDO_DATABASE_URL", pack.url)
    runner = CliRunner(env={"COLUMNS": "250"})
    alert = make_alert(pack, "water-level-alarm")
    created = runner.invoke(
        app, ["incidents", "create", "--type", "tidal-flooding", "--alert", str(alert["id"])]
    )
    assert created.exit_code == 0, created.output
    assert "SC-" in created.output
    listed = runner.invoke(app, ["incidents", "list", "--active"])
    assert listed.exit_code == 0 and "tidal-flooding" in listed.output
    with pack.engine.connect() as connection:  # its id: PostgreSQL sequences are not reset
        number = str(connection.execute(text("select max(id) from incidents")).scalar_one())
    shown = runner.invoke(app, ["incidents", "show", number])
    assert shown.exit_code == 0
    assert json.loads(shown.output)["links"][0]["ref"] == str(alert["id"])
    moved = runner.invoke(app, ["incidents", "status", number, "resolved", "--note", "xong"])
    assert moved.exit_code == 0 and "resolved" in moved.output
    assert runner.invoke(app, ["incidents", "status", number, "dispatched"]).exit_code == 1
    assert runner.invoke(app, ["incidents", "status", number, "sideways"]).exit_code == 1
    assert runner.invoke(app, ["incidents", "create", "--type", "volcano"]).exit_code == 1
    assert runner.invoke(app, ["incidents", "show", "999"]).exit_code == 1

    sops = runner.invoke(app, ["incidents", "sop", "list"])
    assert sops.exit_code == 0 and "dengue-outbreak" in sops.output
    fire = runner.invoke(app, ["incidents", "sop", "show", "fire"])
    assert json.loads(fire.output)["name"] == "Cháy"
    loaded = runner.invoke(app, ["incidents", "sop", "load", str(PACK_DATA / "incidents.yaml")])
    assert loaded.exit_code == 0, loaded.output
    assert loaded.output.strip() == "0 thay đổi / changed"  # already loaded: nothing changes

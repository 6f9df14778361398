"""The `taydo alerts` / `taydo rules` commands, and docs that keep up with kinds and commands."""

from __future__ import annotations

import typing
from pathlib import Path

from typer.testing import CliRunner

from taydo.alerts.cli import alerts_app
from taydo.alerts.service import list_alerts
from taydo.cli import app
from taydo.packs.cantho.plugin import DATA_DIR
from taydo.rules.cli import app as rules_app
from taydo.rules.engine import KINDS
from taydo.rules.schemas import RuleDef
from tests.alerts.conftest import SALT, publish, wait_for

DOCS = Path(__file__).resolve().parents[2] / "docs" / "alerting.md"


def test_cli_lists_acknowledges_and_silences(catalog, client, database, monkeypatch) -> None:
    monkeypatch.setenv("TAYDO_DATABASE_URL", database.url)
    publish(client, [(catalog[SALT], 1, 9.0)])
    runner = CliRunner()
    listed = wait_for(
        lambda: (r := runner.invoke(app, ["alerts", "list"])) and "Độ mặn" in r.output and r
    )
    assert listed.exit_code == 0
    alert_id = str(list_alerts(database, None)[0]["id"])
    acked = runner.invoke(app, ["alerts", "ack", alert_id, "--note", "đã nhận"])
    assert acked.exit_code == 0, acked.output
    assert runner.invoke(app, ["alerts", "ack", alert_id]).exit_code == 1  # not firing any more
    assert runner.invoke(app, ["alerts", "resolve", "999"]).exit_code != 0  # note required
    assert runner.invoke(app, ["alerts", "resolve", "999", "--note", "x"]).exit_code == 1
    silenced = runner.invoke(
        app,
        ["alerts", "silence", "--reason", "Bảo trì", "--duration", "2h", "--rule", "salinity-rice"],
    )
    assert silenced.exit_code == 0, silenced.output
    assert runner.invoke(
        app, ["alerts", "silence", "--reason", "x", "--duration", "soon"]
    ).exit_code


def test_cli_lists_dead_letters_and_sends_them_again(
    catalog, client, database, monkeypatch
) -> None:
    from sqlalchemy import select

    from taydo.alerts.models import Outbox
    from taydo.alerts.routing import RouteIn, save_routes

    monkeypatch.setenv("TAYDO_DATABASE_URL", database.url)
    save_routes(database, [RouteIn(code="kttv", channels=["kttv-email"])])
    publish(client, [(catalog[SALT], 1, 9.0)])
    runner = CliRunner()
    listed = wait_for(
        lambda: (
            (r := runner.invoke(app, ["alerts", "deliveries", "--status", "dead"]))
            and "kttv-email" in r.output
            and r
        )
    )
    assert "dead" in listed.output  # the reason is wrapped in a narrow terminal
    assert runner.invoke(app, ["alerts", "deliveries", "--status", "lost"]).exit_code == 1
    assert runner.invoke(app, ["alerts", "retry"]).exit_code == 1  # neither ids nor a channel
    with database.session() as s:
        dead_id = s.scalar(select(Outbox.id).where(Outbox.status == "dead"))
    sent = runner.invoke(app, ["alerts", "retry", str(dead_id)])
    assert sent.exit_code == 0 and "1 " in sent.output, sent.output


def test_cli_validates_and_loads_the_pack_rules(database, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("TAYDO_DATABASE_URL", database.url)
    runner = CliRunner()
    pack = DATA_DIR / "rules.yaml"
    assert runner.invoke(app, ["rules", "validate", str(pack)]).exit_code == 0
    loaded = runner.invoke(app, ["rules", "load", str(pack)])
    assert loaded.exit_code == 0 and "8" in loaded.output
    again = runner.invoke(app, ["rules", "load", str(pack)])
    assert "0" in again.output  # idempotent
    assert "water-level-alarm" in runner.invoke(app, ["rules", "list"]).output
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {code: x, kind: threshold, name: X, metric: m, levels: []}\n")
    refused = runner.invoke(app, ["rules", "validate", str(bad)])
    assert refused.exit_code == 1 and "levels" in refused.output


def test_every_rule_kind_and_command_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    # the engine's table of kinds is the list to document; it holds every model of RuleDef
    models = typing.get_args(typing.get_args(RuleDef)[0])
    assert {kind.model for kind in KINDS.values()} == set(models)
    for code, kind in KINDS.items():
        assert typing.get_args(kind.model.model_fields["kind"].annotation) == (code,)
        assert f"### `{code}`" in text
    assert sorted(KINDS) == ["absence", "composite", "rate", "threshold"]
    for group, typer_app in (("alerts", alerts_app), ("rules", rules_app)):
        for command in typer_app.registered_commands:
            assert command.name in text.split("CLI: ")[1].split(f"`taydo {group} ")[1].split("`")[
                0
            ].split("|")

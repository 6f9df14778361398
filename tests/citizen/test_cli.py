"""``taydo citizen …``: API keys made, listed (never shown again), revoked; reports listed."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from taydo.citizen.service import NewReport, create_report, key_id_for
from taydo.cli import app
from taydo.core.db import Database
from tests.citizen.conftest import IN_CAI_RANG


def test_keys_and_listing(citizen_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAYDO_DATABASE_URL", citizen_db.url)
    runner = CliRunner()
    made = runner.invoke(app, ["citizen", "keys", "create", "Ứng dụng Cần Thơ 1022"])
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    assert key.startswith("o311_") and key_id_for(citizen_db, key) is not None
    listed = runner.invoke(app, ["citizen", "keys", "list"], env={"COLUMNS": "200"})
    assert "1022" in listed.output and key not in listed.output
    key_id = made.output.split("id ", 1)[1].split(":", 1)[0]
    assert runner.invoke(app, ["citizen", "keys", "revoke", key_id]).exit_code == 0
    assert key_id_for(citizen_db, key) is None
    assert runner.invoke(app, ["citizen", "keys", "revoke", "999999"]).exit_code == 1
    report: Any = create_report(citizen_db, NewReport("o-ga", *IN_CAI_RANG))[0]
    rows = runner.invoke(app, ["citizen", "list", "--agency", "SXD"], env={"COLUMNS": "200"}).output
    assert f"{report['id']}" in rows and "o-ga" in rows
    assert (
        "o-ga"
        not in runner.invoke(
            app, ["citizen", "list", "--status", "closed"], env={"COLUMNS": "200"}
        ).output
    )

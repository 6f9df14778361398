"""Loading a whole pack: catalog, rules and alert routes together."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from taydo.catalog.models import Agency
from taydo.core.db import Database
from taydo.rules.models import Rule


def _count(database: Database, model: type) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_pack_cli_loads_and_summarises(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from taydo.cli import app

    monkeypatch.setenv("TAYDO_DATABASE_URL", database.url)
    runner = CliRunner()
    first = runner.invoke(app, ["pack", "load", "cantho"])
    assert first.exit_code == 0, first.output
    assert "pack loaded: cantho" in first.output
    assert "11 (+11)" in first.output  # agencies, all new
    again = runner.invoke(app, ["pack", "load"])  # every pack: here just cantho
    assert again.exit_code == 0, again.output
    assert "11 (+0)" in again.output
    assert _count(database, Agency) == 11
    rules = _count(database, Rule)
    assert rules > 0  # the pack's early-warning rules came with it, once

    unknown = runner.invoke(app, ["pack", "load", "atlantis"])
    assert unknown.exit_code == 2
    assert "cantho" in unknown.output  # names the packs that exist

    areas = runner.invoke(app, ["geo", "load"])
    assert areas.exit_code == 0, areas.output
    assert "34 tỉnh/thành phố, 3321 phường/xã/đặc khu" in areas.output

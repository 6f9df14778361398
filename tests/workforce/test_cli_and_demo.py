"""``taydo workforce import|summary`` and the demo's workforce."""

from __future__ import annotations

import io
import json
from pathlib import Path

import openpyxl
from sqlalchemy import func, select
from typer.testing import CliRunner

from taydo.cli import app as cli_app
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.demo.workforce import DEMO_SOURCE, seed_workforce
from taydo.workforce import service, team_coverage
from taydo.workforce.models import Population, Team
from tests.workforce.conftest import csv_file

STAFF = ("Năm", "Mã cơ quan", "Loại nhân lực", "Số người")


def _run(database: Database, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli_app, list(args), env={"TAYDO_DATABASE_URL": database.url})


def test_the_import_command_stores_nothing_unless_told(loaded: Database, tmp_path: Path) -> None:
    file = tmp_path / "nhan-luc.csv"
    file.write_bytes(
        csv_file(STAFF, ("2026", "SYT", "civil_servants", "900"), ("2026", "SYT", "robots", "3"))
    )
    report = tmp_path / "bao-cao.xlsx"
    refused = _run(loaded, "workforce", "import", "staff", str(file), "--report", str(report))
    assert refused.exit_code == 1, refused.output
    assert "rejected" in refused.output and "dòng 3" in refused.output
    rows = list(openpyxl.load_workbook(report)["Lỗi theo dòng"].iter_rows(values_only=True))
    assert rows[1][:2] == (3, "Loại nhân lực")
    with loaded.session() as session:
        assert service.staff_counts(session, year=2026)["civil_servants"] == 0

    kept = _run(loaded, "workforce", "import", "staff", str(file), "--accept-valid")
    assert kept.exit_code == 0 and "partial" in kept.output
    summary = _run(loaded, "workforce", "summary", "--year", "2026", "--json")
    assert summary.exit_code == 0, summary.output
    assert json.loads(summary.output)["staff"] == {"SYT": {"civil_servants": 900}}
    missing = _run(loaded, "workforce", "import", "nothing", str(file))
    assert missing.exit_code == 1 and "no workforce data kind" in missing.output


def test_the_demo_workforce_is_plausible_marked_and_idempotent(loaded: Database) -> None:
    first = seed_workforce(loaded)
    assert first["teams"] >= 14 * 3 and first["populations"] == 14
    with loaded.session() as session:
        teams = session.scalar(select(func.count()).select_from(Team))
        sources = set(session.scalars(select(Population.source)))
    assert sources == {DEMO_SOURCE}
    again = seed_workforce(loaded)
    assert again == first
    with loaded.session() as session:
        assert session.scalar(select(func.count()).select_from(Team)) == teams
        coverage = team_coverage(session, at=clock.now().date())
        assert coverage.teams == teams and coverage.wards_with_teams == 14
        assert coverage.members_per_100 is not None and 0 < coverage.members_per_100 < 1
    admin = Principal(username="t", role="admin")
    this_year = service.summary(loaded, admin, year=clock.now().date().year)
    civil = this_year["shares"]["civil_servants"]
    assert 0 < civil["completed"] <= 2 * civil["headcount"]
    book = openpyxl.load_workbook(io.BytesIO(service.template_xlsx("teams")))
    assert book.sheetnames == ["Số liệu", "Hướng dẫn"]

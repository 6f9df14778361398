"""``taydo report daily|monthly … --output DIR`` writes the file into the folder."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
from pypdf import PdfReader
from typer.testing import CliRunner

from taydo.core.db import Database

from .conftest import make_city


def test_report_commands_write_to_a_folder(database: Database, tmp_path: Path) -> None:
    from taydo.cli import app as cli_app

    make_city(database)
    env = {"TAYDO_DATABASE_URL": database.url, "TAYDO_CONFIG_FILE": str(tmp_path / "none.toml")}
    out = tmp_path / "bao-cao" / "thang-11"  # created
    runner = CliRunner()
    answer = runner.invoke(
        cli_app,
        ["report", "daily", "--date", "2026-11-20", "--format", "xlsx", "--output", str(out)],
        env=env,
    )
    assert answer.exit_code == 0, answer.output
    written = out / "taydo-daily-2026-11-20.xlsx"
    assert str(written) in answer.output
    book = openpyxl.load_workbook(io.BytesIO(written.read_bytes()))
    cells = [c for row in book["Tóm tắt"].iter_rows(values_only=True) for c in row]
    assert "20/11/2026" in cells

    answer = runner.invoke(
        cli_app,
        ["report", "monthly", "--date", "2026-11-20", "--agency", "DKTTV", "--output", str(out)],
        env=env,
    )
    assert answer.exit_code == 0, answer.output
    pdf = out / "taydo-monthly-2026-11-DKTTV.pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    assert "Phạm vi / Scope: DKTTV" in " ".join(text.split())

    answer = runner.invoke(
        cli_app, ["report", "daily", "--agency", "../../etc/x\u0110", "--output", str(out)], env=env
    )
    assert answer.exit_code == 0, answer.output
    # the agency is text from outside: in a file name, never a path nor a header break
    assert any(p.name.endswith("-______etc_x_.pdf") for p in out.iterdir())
    bad = runner.invoke(cli_app, ["report", "daily", "--date", "20/11/2026"], env=env)
    assert bad.exit_code == 1 and "YYYY-MM-DD" in bad.output
    bad = runner.invoke(cli_app, ["report", "daily", "--format", "docx"], env=env)
    assert bad.exit_code == 1 and "docx" in bad.output
    answer = runner.invoke(cli_app, ["report", "run-due"], env=env)
    assert answer.exit_code == 0 and answer.output == ""  # no job scheduled

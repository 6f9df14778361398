"""``taydo report daily|monthly``: a report written to a folder (run as the ``cli`` operator,
who sees every agency), and ``taydo report run-due``: the scheduled jobs due now, once."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.console import Console

from taydo.core import clock
from taydo.core.db import Database
from taydo.core.errors import Invalid, TaydoError
from taydo.core.lease import member_name
from taydo.core.settings import Settings
from taydo.core.terminal import fail
from taydo.reports.service import build_report, claim_due, render, run_claimed

__all__ = ["report_app"]

report_app = typer.Typer(help="Báo cáo / Reports.", no_args_is_help=True)
console = Console()


def _write(kind: str, day: str | None, agency: str | None, fmt: str, output: Path) -> None:
    settings = Settings()
    database = Database(settings.database_url)
    try:
        try:
            parsed = date.fromisoformat(day) if day else None
        except ValueError:
            raise Invalid(f"ngày không hợp lệ / not a date (YYYY-MM-DD): {day!r}") from None
        now = clock.now()
        report = build_report(
            database,
            kind=kind,
            tz=settings.tz,
            day=parsed,
            agency=agency,
            now=now,
            province=settings.console_area,
        )
        rendered = render(report, fmt, settings.tz, now)
    except TaydoError as exc:
        fail(console, exc)
    finally:
        database.dispose()
    output.mkdir(parents=True, exist_ok=True)
    path = output / rendered.filename
    path.write_bytes(rendered.content)
    print(path)


_DATE = typer.Option(
    None, "--date", help="A day of the period, YYYY-MM-DD (default: the last complete one)."
)
_AGENCY = typer.Option(None, "--agency", help="Only this agency (code); default: every agency.")
_FORMAT = typer.Option("pdf", "--format", help="pdf or xlsx.")
_OUTPUT = typer.Option(Path("."), "--output", help="Folder to write the file into (created).")


@report_app.command("daily")
def daily(
    day: str | None = _DATE,
    agency: str | None = _AGENCY,
    fmt: str = _FORMAT,
    output: Path = _OUTPUT,
) -> None:
    """Báo cáo giao ban hằng ngày / The daily operations briefing, written to a folder."""
    _write("daily", day, agency, fmt, output)


@report_app.command("monthly")
def monthly(
    day: str | None = _DATE,
    agency: str | None = _AGENCY,
    fmt: str = _FORMAT,
    output: Path = _OUTPUT,
) -> None:
    """Báo cáo tháng / The monthly KPI and DTI report (the month holding --date)."""
    _write("monthly", day, agency, fmt, output)


@report_app.command("run-due")
def run_due() -> None:
    """Gửi báo cáo đến hạn / Run the scheduled report jobs due now, once each (the server
    does this itself; use this where no server runs)."""
    settings = Settings()
    database = Database(settings.database_url)
    try:
        claimed = claim_due(database, tz=settings.tz, now=clock.now(), runner=member_name())
        for run_id in claimed:
            run = run_claimed(database, run_id, tz=settings.tz, province=settings.console_area)
            print(f"{run['job']}\t{run['status']}\t{run['filename']}\t{run['error']}")
    finally:
        database.dispose()

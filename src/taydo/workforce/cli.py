"""``taydo workforce import KIND FILE`` and ``taydo workforce summary``: the workforce import
pipeline and summary from the command line (the same service as the API and the console)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import TaydoError
from taydo.core.migrate import upgrade
from taydo.core.settings import Settings
from taydo.core.terminal import fail
from taydo.workforce import service

__all__ = ["workforce_app"]

workforce_app = typer.Typer(help="Nhân lực số / The digital workforce.", no_args_is_help=True)
console = Console()
SYSTEM = Principal(username="cli", role="admin")


def _database(settings: Settings) -> Database:
    database = Database(settings.database_url)
    upgrade(database)
    return database


@workforce_app.command("import")
def import_command(
    kind: Annotated[str, typer.Argument(help=" | ".join(service.KINDS))],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".xlsx or .csv")],
    accept_valid: Annotated[
        bool,
        typer.Option(
            "--accept-valid",
            help="Store the good rows of a file with problems (default: store nothing).",
        ),
    ] = False,
    report: Annotated[Path | None, typer.Option(help="Write the row report (.xlsx) here.")] = None,
) -> None:
    """Nhập tệp số liệu nhân lực số / Import a workforce file (.xlsx or .csv)."""
    database = _database(Settings())
    try:
        summary = service.import_file(
            database,
            SYSTEM,
            kind,
            file.name,
            file.read_bytes(),
            mode="accept_valid" if accept_valid else "all_or_nothing",
        )
        if report is not None:
            report.write_bytes(service.report_xlsx(database, SYSTEM, summary["id"]))
    except TaydoError as exc:
        fail(console, exc)
    finally:
        database.dispose()
    console.print(
        f"{summary['status']}: {summary['rows']} dòng / rows, {summary['rows_rejected']} lỗi / "
        f"with problems, {summary['rows_stored']} đã lưu / stored"
    )
    for problem in summary["problems"][:20]:
        console.print(f"  dòng {problem['row']} [{problem['column']}]: {problem['reason']}")
    if summary["status"] == "rejected":
        raise typer.Exit(1)


@workforce_app.command("summary")
def summary_command(
    year: Annotated[
        int | None, typer.Option(min=2000, max=2100, help="Default: this year.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Tổng hợp nhân lực số trong năm / The workforce in a year, by group, agency and ward."""
    settings = Settings()
    database = _database(settings)
    chosen = year if year is not None else clock.now().astimezone(settings.tz).year
    try:
        found = service.summary(database, SYSTEM, year=chosen)
    finally:
        database.dispose()
    if as_json:
        console.print_json(json.dumps(found, ensure_ascii=False, default=str))
        return
    table = Table(title=f"Nhân lực số / digital workforce {chosen}")
    table.add_column("nhóm / group")
    for title in ("khóa / courses", "đăng ký / enrolled", "hoàn thành / completed"):
        table.add_column(title, justify="right")
    table.add_column("quy mô / headcount", justify="right")
    for group in service.GROUPS:
        row = found["groups"][group.code]
        share = found["shares"].get(group.code, {})
        table.add_row(
            group.vi,
            str(row["courses"]),
            str(row["enrolled"]),
            str(row["completed"]),
            str(share.get("headcount", "—")),
        )
    console.print(table)
    coverage = found["coverage"]
    if coverage:
        per_100 = "—" if coverage["members_per_100"] is None else coverage["members_per_100"]
        console.print(
            f"Tổ công nghệ số cộng đồng / community teams: {coverage['teams']} tổ, "
            f"{coverage['members']} thành viên / members, {coverage['wards_with_teams']}/"
            f"{coverage['wards']} phường/xã / wards, {per_100} thành viên trên 100 dân / members "
            "per 100 residents"
        )

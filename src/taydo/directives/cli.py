"""``taydo directives …``: list, show and the overdue parts (read-only: directives are issued
and answered by people, in the console or over the API, where the journal names them)."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from taydo.core.db import Database
from taydo.core.errors import TaydoError
from taydo.core.settings import Settings
from taydo.core.terminal import fail
from taydo.directives import service

directives_app = typer.Typer(help="Chỉ đạo, giao nhiệm vụ / Directives.", no_args_is_help=True)
console = Console()


def _database() -> Database:
    return Database(Settings().database_url)


def _table(rows: list[dict[str, object]]) -> Table:
    table = Table("id", "status", "priority", "due", "agencies", "overdue", "title")
    for row in rows:
        parts = row["assignments"]
        assert isinstance(parts, list)
        table.add_row(
            str(row["id"]),
            str(row["status"]),
            str(row["priority"]),
            str(row["due_at"]),
            ", ".join(f"{p['agency_code']}:{p['status']}" for p in parts),
            ", ".join(p["agency_code"] for p in parts if p["overdue"]) or "—",
            str(row["title"]),
        )
    return table


@directives_app.command("list")
def list_command(
    status: str | None = typer.Option(None, help="open | completed | cancelled"),
    agency: str | None = typer.Option(None, help="Only directives assigned to this agency."),
    limit: int = typer.Option(50, help="At most this many, soonest deadline first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Liệt kê chỉ đạo / List directives."""
    try:
        rows = service.list_directives(_database(), None, status=status, agency=agency, limit=limit)
    except TaydoError as exc:
        fail(console, exc)
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False))
    else:
        console.print(_table(rows))


@directives_app.command("show")
def show(directive_id: int = typer.Argument(..., help="Directive id.")) -> None:
    """Xem một chỉ đạo / Show a directive: every agency's part, reports, files and timeline."""
    try:
        found = service.get_directive(_database(), None, directive_id)
    except TaydoError as exc:
        fail(console, exc)
    console.print_json(json.dumps(found, ensure_ascii=False))


@directives_app.command("overdue")
def overdue(
    agency: str | None = typer.Option(None, help="Only this agency's overdue parts."),
) -> None:
    """Chỉ đạo quá hạn / Open directives with an agency past its deadline."""
    try:
        rows = service.list_directives(_database(), None, overdue=True, agency=agency, limit=1000)
    except TaydoError as exc:
        fail(console, exc)
    console.print(_table(rows))

"""``taydo citizen …`` commands: API keys of the apps that post reports, and the report list
(run as the ``cli`` operator, journalled)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from taydo.citizen import service
from taydo.core.db import Database
from taydo.core.errors import TaydoError
from taydo.core.settings import Settings
from taydo.core.terminal import fail

citizen_app = typer.Typer(
    help="Phản ánh hiện trường / Citizen reports (Open311).", no_args_is_help=True
)
keys_app = typer.Typer(help="Khóa API của ứng dụng / API keys of apps.", no_args_is_help=True)
citizen_app.add_typer(keys_app, name="keys")
console = Console()
ACTOR = "cli"


def _database() -> Database:
    return Database(Settings().database_url)


@keys_app.command("create")
def create_key(name: str = typer.Argument(..., help="The app's name.")) -> None:
    """Tạo khóa API (chỉ hiện một lần) / Create an API key (shown only once)."""
    try:
        record, key = service.create_key(_database(), name, actor=ACTOR)
    except TaydoError as exc:
        fail(console, exc)
    console.print(f"id {record['id']}: {record['name']}")
    typer.echo(key)


@keys_app.command("list")
def list_keys() -> None:
    """Liệt kê khóa API / List API keys (their prefixes; keys are stored hashed)."""
    table = Table("id", "name", "prefix", "created", "revoked")
    for row in service.list_keys(_database()):
        table.add_row(
            str(row["id"]), row["name"], row["prefix"], row["created_at"], str(row["revoked"])
        )
    console.print(table)


@keys_app.command("revoke")
def revoke_key(key_id: int = typer.Argument(..., min=1, help="The key's id.")) -> None:
    """Thu hồi khóa API / Revoke an API key."""
    try:
        record = service.revoke_key(_database(), key_id, actor=ACTOR)
    except TaydoError as exc:
        fail(console, exc)
    console.print(f"revoked {record['id']}: {record['name']}")


@citizen_app.command("list")
def list_reports(
    status: str | None = typer.Option(None, help="open | acknowledged | in_progress | closed"),
    service_code: str | None = typer.Option(None, "--service", help="Only this category."),
    area: str | None = typer.Option(None, help="Only this ward or commune (code)."),
    agency: str | None = typer.Option(None, help="Only this agency (code)."),
    limit: int = typer.Option(50, min=1, max=1000, help="At most this many, newest first."),
) -> None:
    """Liệt kê phản ánh / List citizen reports."""
    rows = service.list_reports(
        _database(),
        None,
        status=status,
        service=service_code,
        area=area,
        agency=agency,
        limit=limit,
    )
    table = Table("id", "status", "service", "area", "agency", "requested", "due")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["status"],
            row["service_code"],
            row["area_code"] or "—",
            row["agency_code"] or "—",
            row["requested_at"],
            row["due_at"],
        )
    console.print(table)

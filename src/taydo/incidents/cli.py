"""``taydo incidents …``: list, show, create, change status, and manage SOPs (run as the
``cli`` operator, journalled). Changes made here reach open consoles at their next reload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Invalid, TaydoError
from taydo.core.settings import Settings
from taydo.core.terminal import fail
from taydo.incidents import service
from taydo.incidents.schemas import IncidentIn, StatusIn

__all__ = ["incidents_app"]

incidents_app = typer.Typer(help="Sự cố / Incidents.", no_args_is_help=True)
sop_app = typer.Typer(help="Quy trình xử lý (SOP) / Standard operating procedures.")
incidents_app.add_typer(sop_app, name="sop")
console = Console()
CLI_PRINCIPAL = Principal(username="cli", role="operator")


def _database() -> Database:
    return Database(Settings().database_url)


@incidents_app.command("list")
def list_incidents(
    status: str | None = typer.Option(
        None, help="new | dispatched | in_progress | resolved | closed"
    ),
    active: bool = typer.Option(False, "--active", help="Only open incidents."),
    overdue: bool = typer.Option(False, "--overdue", help="Only overdue incidents."),
    area: str | None = typer.Option(None, help="Only this ward or commune (code)."),
    limit: int = typer.Option(50, min=1, max=1000, help="At most this many, newest first."),
) -> None:
    """Liệt kê sự cố / List incidents."""
    rows = service.list_incidents(
        _database(),
        None,
        status=status,
        area=area,
        active=True if active else None,
        overdue=True if overdue else None,
        limit=limit,
    )
    table = Table("id", "code", "status", "severity", "type", "title", "due")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["code"],
            row["status"] + (" ⚠" if row["overdue"] else ""),
            row["severity"],
            row["type"],
            row["title"],
            row["due_at"] or "—",
        )
    console.print(table)


@incidents_app.command("show")
def show(incident_id: int = typer.Argument(..., help="Incident id.")) -> None:
    """Xem một sự cố (JSON) / Show one incident with its steps, links and timeline."""
    try:
        found = service.get_incident(_database(), None, incident_id)
    except TaydoError as exc:
        fail(console, exc)
    typer.echo(json.dumps(found, ensure_ascii=False, indent=2))


@incidents_app.command("create")
def create(
    incident_type: str = typer.Option(..., "--type", help="Incident type (an SOP's type)."),
    title: str | None = typer.Option(None, help="Title (default: the alert's or the SOP's)."),
    severity: str | None = typer.Option(None, help="info | watch | warning | danger | emergency"),
    area: str | None = typer.Option(None, help="Ward or commune code."),
    agency: str | None = typer.Option(None, help="Responsible agency code."),
    alert: int | None = typer.Option(None, help="Create from this alert (linked both ways)."),
) -> None:
    """Tạo sự cố / Create an incident (by hand or from an alert)."""
    try:
        body = IncidentIn.model_validate(
            {
                "type": incident_type,
                "title": title,
                "severity": severity,
                "area_code": area,
                "agency_code": agency,
                "alert_id": alert,
            }
        )
        incident, _event = service.create(_database(), CLI_PRINCIPAL, body)
    except ValidationError as exc:
        fail(console, Invalid(str(exc)))
    except TaydoError as exc:
        fail(console, exc)
    console.print(f"[green]{incident['code']}[/green] (id {incident['id']})")


@incidents_app.command("status")
def status(
    incident_id: int = typer.Argument(..., help="Incident id."),
    to: str = typer.Argument(..., help="dispatched | in_progress | resolved | closed | reopen"),
    note: str = typer.Option("", help="Ghi chú / note"),
) -> None:
    """Chuyển trạng thái / Change an incident's status."""
    try:
        body = StatusIn.model_validate({"status": to, "note": note})
        incident, _event = service.change_status(_database(), CLI_PRINCIPAL, incident_id, body)
    except ValidationError as exc:
        fail(console, Invalid(str(exc)))
    except TaydoError as exc:
        fail(console, exc)
    console.print(f"[green]{incident['code']}: {incident['status']}[/green]")


@sop_app.command("list")
def sop_list() -> None:
    """Liệt kê quy trình / List the SOPs by incident type."""
    table = Table("type", "name", "steps", "source")
    for sop in service.list_sops(_database()):
        table.add_row(sop["type"], sop["name"], str(len(sop["steps"])), sop["source"])
    console.print(table)


@sop_app.command("show")
def sop_show(incident_type: str = typer.Argument(..., help="Incident type.")) -> None:
    """Xem một quy trình (JSON) / Show one SOP."""
    try:
        found = service.get_sop(_database(), incident_type)
    except TaydoError as exc:
        fail(console, exc)
    typer.echo(json.dumps(found, ensure_ascii=False, indent=2))


@sop_app.command("load")
def sop_load(
    path: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="An incidents.yaml file.")
    ],
) -> None:
    """Nạp SOP, SLA, quy tắc liên kết từ tệp / Load SOPs, SLA and correlation rules from a file."""
    database = _database()
    try:
        sops, sla, rules = service.parse_pack(path.read_text(encoding="utf-8"))
        changed = service.save_all(database, sops, sla, rules, actor="cli", source="cli")
    except TaydoError as exc:
        fail(console, exc)
    console.print(f"[green]{changed} thay đổi / changed[/green]")

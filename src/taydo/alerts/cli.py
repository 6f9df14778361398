"""``taydo alerts …`` and ``taydo rules …`` commands (run as the ``cli`` operator, journalled)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from taydo.alerts import routing, service
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import TaydoError
from taydo.core.settings import Settings
from taydo.core.terminal import fail
from taydo.rules.schemas import parse_duration

alerts_app = typer.Typer(help="Cảnh báo / Alerts.", no_args_is_help=True)
console = Console()
CLI_PRINCIPAL = Principal(username="cli", role="operator")


def _database() -> Database:
    return Database(Settings().database_url)


@alerts_app.command("list")
def list_alerts(
    state: str | None = typer.Option(None, help="firing | acknowledged | resolved"),
    severity: str | None = typer.Option(
        None, help="Only this severity: info | watch | warning | danger | emergency"
    ),
    area: str | None = typer.Option(None, help="Only this area (ward or commune code)."),
    agency: str | None = typer.Option(None, help="Only this agency (code, e.g. DKTTV)."),
    active: bool = typer.Option(False, "--active", help="Only open episodes."),
    limit: int = typer.Option(50, help="At most this many, newest first."),
) -> None:
    """Liệt kê cảnh báo / List alerts."""
    rows = service.list_alerts(
        _database(),
        None,
        state=state,
        severity=severity,
        area=area,
        agency=agency,
        active=True if active else None,
        limit=limit,
    )
    table = Table("id", "state", "severity", "title", "started")
    for row in rows:
        table.add_row(
            str(row["id"]), row["state"], row["severity"], row["title"], row["started_at"]
        )
    console.print(table)


@alerts_app.command("ack")
def ack(
    alert_id: int = typer.Argument(..., help="Alert id."),
    note: str = typer.Option("", help="Ghi chú / note"),
) -> None:
    """Tiếp nhận cảnh báo / Acknowledge an alert."""
    try:
        service.acknowledge(_database(), CLI_PRINCIPAL, alert_id, note=note)
    except TaydoError as exc:
        fail(console, exc)
    console.print(f"[green]Đã tiếp nhận / acknowledged {alert_id}[/green]")


@alerts_app.command("resolve")
def resolve(
    alert_id: int = typer.Argument(..., help="Alert id."),
    note: str = typer.Option(..., help="Ghi chú / note (required)"),
) -> None:
    """Kết thúc cảnh báo / Resolve an alert by hand."""
    try:
        service.resolve(_database(), CLI_PRINCIPAL, alert_id, note=note)
    except TaydoError as exc:
        fail(console, exc)
    console.print(f"[green]Đã kết thúc / resolved {alert_id}[/green]")


@alerts_app.command("assign")
def assign(
    alert_id: int = typer.Argument(..., help="Alert id."),
    assignee: str = typer.Argument(..., help="Username of the account to handle it."),
) -> None:
    """Giao xử lý / Assign an alert."""
    try:
        service.assign(_database(), CLI_PRINCIPAL, alert_id, assignee=assignee)
    except TaydoError as exc:
        fail(console, exc)
    console.print(f"[green]Đã giao / assigned {alert_id} → {assignee}[/green]")


@alerts_app.command("silence")
def silence(
    reason: str = typer.Option(..., help="Lý do / reason"),
    duration: str = typer.Option("1h", help="e.g. 30m, 2h, 1d"),
    rule: Annotated[list[str] | None, typer.Option(help="Rule codes")] = None,
    area: Annotated[list[str] | None, typer.Option(help="Area codes")] = None,
    agency: Annotated[list[str] | None, typer.Option(help="Agency codes")] = None,
    entity: Annotated[list[str] | None, typer.Option(help="Entity ids")] = None,
    maintenance: bool = typer.Option(False, "--maintenance", help="A maintenance window."),
) -> None:
    """Tắt thông báo / Silence notifications of matching alerts (they are still recorded)."""
    try:
        data = routing.SilenceIn(
            kind="maintenance" if maintenance else "silence",
            match=routing.Matchers(
                rules=rule or [], areas=area or [], agencies=agency or [], entities=entity or []
            ),
            ends_at=clock.now() + timedelta(seconds=parse_duration(duration)),
            reason=reason,
        )
        created = service.create_silence(_database(), CLI_PRINCIPAL, data)
    except TaydoError as exc:
        fail(console, exc)
    console.print(f"[green]Silence {created['id']} until {created['ends_at']}[/green]")


@alerts_app.command("deliveries")
def deliveries(
    status: str | None = typer.Option(None, help="pending | sent | dead"),
    channel: str | None = typer.Option(None, help="Channel code"),
    limit: int = typer.Option(50, help="At most this many, newest first."),
) -> None:
    """Thông báo đã gửi và lỗi / Notification deliveries, newest first (--status dead: failed)."""
    try:
        rows = service.list_deliveries(_database(), status=status, channel=channel, limit=limit)
    except TaydoError as exc:
        fail(console, exc)
    table = Table("id", "alert", "channel", "event", "status", "tries", "last error")
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["alert_id"] or "—"),
            row["channel"],
            row["event"],
            row["status"],
            str(row["attempts"]),
            row["last_error"] or "",
        )
    console.print(table)


@alerts_app.command("retry")
def retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Delivery ids")] = None,
    channel: str | None = typer.Option(None, help="Every dead delivery of this channel"),
) -> None:
    """Gửi lại thông báo lỗi / Send dead-lettered notifications again (a running server picks
    them up within a second)."""
    try:
        queued = service.retry_deliveries(_database(), CLI_PRINCIPAL, ids=ids, channel=channel)
    except TaydoError as exc:
        fail(console, exc)
    console.print(f"[green]{len(queued)} thông báo chờ gửi lại / deliveries queued again[/green]")

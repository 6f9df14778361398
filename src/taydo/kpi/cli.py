"""``taydo kpi list|compute|show|dti-compute``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from taydo.core import clock
from taydo.core.db import Database
from taydo.core.errors import TaydoError
from taydo.core.settings import Settings
from taydo.core.terminal import fail
from taydo.kpi import service

__all__ = ["kpi_app", "register"]

kpi_app = typer.Typer(help="Chỉ số KPI / KPIs.", no_args_is_help=True)
console = Console()


def register(root: typer.Typer) -> None:
    root.add_typer(kpi_app, name="kpi")


def _database() -> Database:
    return Database(Settings().database_url)


def _shown(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


@kpi_app.command("list")
def list_kpis(
    pillar: str | None = typer.Option(
        None, help="chinh-quyen-so | kinh-te-so | xa-hoi-so | nen-tang"
    ),
) -> None:
    """Liệt kê chỉ số và giá trị mới nhất / List KPIs with their newest value and status."""
    view = service.dashboard(_database(), None, now=clock.now())
    table = Table("code", "pillar", "sector", "period", "value", "target", "status")
    for p in view["pillars"]:
        if pillar and p["code"] != pillar:
            continue
        for sector in p["sectors"]:
            for k in sector["kpis"]:
                table.add_row(
                    k["code"],
                    p["code"],
                    sector["code"] or "—",
                    k["period_key"] or "—",
                    _shown(k["value"]),
                    _shown(k["target"]),
                    k["status"],
                )
    console.print(table)


@kpi_app.command("compute")
def compute(
    code: Annotated[
        list[str] | None, typer.Option("--code", help="Only these KPIs (repeatable).")
    ] = None,
    force: bool = typer.Option(False, "--force", help="Recompute every period in the window."),
) -> None:
    """Tính chỉ số / Compute the KPI periods that need it (all with --force)."""
    settings = Settings()
    run = service.compute(
        Database(settings.database_url),
        now=clock.now(),
        zone=settings.display_timezone,
        codes=code or None,
        force=force,
    )
    console.print(f"computed {run.computed}, kept {run.kept}, status changes {len(run.changes)}")


@kpi_app.command("show")
def show(
    code: str = typer.Argument(..., help="KPI code."),
    period: str | None = typer.Option(None, help="One period (e.g. 2026-11): its wards."),
) -> None:
    """Xem chỉ số, lịch sử và nguồn tính / Show a KPI, its history and what it came from."""
    database = _database()
    try:
        kpi = service.get_kpi(database, code)
        values = service.kpi_values(database, code, None, period=period, limit=24)
    except TaydoError as exc:
        fail(console, exc)
    console.print(
        f"[bold]{kpi['code']}[/bold] {kpi['name']} ({kpi['unit']}) target {_shown(kpi['target'])}"
    )
    console.print(f"source: {kpi['source']} (formula version {kpi['version']})")
    table = Table("period", "area", "value", "status", "reason", "inputs")
    for v in values:
        inputs = {
            k: x for k, x in v["inputs"].items() if k not in ("source", "start", "end", "period")
        }
        table.add_row(
            v["period"],
            v["area"] or "city",
            _shown(v["value"]),
            v["status"],
            v["reason"],
            str(inputs)[:120],
        )
    console.print(table)


@kpi_app.command("dti-compute")
def dti_compute(
    framework: str = typer.Option("dti-922", help="DTI framework code."),
    year: int | None = typer.Option(None, help="The year (default: this year)."),
) -> None:
    """Ước tính DTI từ KPI / Estimate the DTI indices linked to KPIs, for the IOC's province."""
    settings = Settings()
    try:
        out = service.compute_from_kpis(
            _database(),
            framework,
            settings.console_area,
            year or clock.now().astimezone(settings.tz).year,
            actor="cli",
        )
    except TaydoError as exc:
        fail(console, exc)
    table = Table("index", "score", "note")
    for code, score in out["computed"].items():
        table.add_row(code, f"{score:.4f}", "ước tính / estimated")
    for code, why in out["skipped"].items():
        table.add_row(code, "—", why)
    console.print(f"{out['framework']} · {out['province']} · {out['year']}")
    console.print(table)

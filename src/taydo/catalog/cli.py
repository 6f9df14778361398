"""The catalog's commands: ``taydo geo import`` imports area boundaries (geo) and re-places
the entities inside them (catalog), so it is attached to geo's command group from here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from taydo.catalog.service import assign_areas
from taydo.core.db import Database
from taydo.core.errors import TaydoError
from taydo.core.migrate import upgrade
from taydo.core.settings import Settings
from taydo.geo.cli import app as geo_app
from taydo.geo.importing import import_geojson
from taydo.geo.service import load_areas

__all__ = ["register"]

console = Console()


def _database() -> Database:
    database = Database(Settings().database_url)
    upgrade(database)
    return database


def import_boundaries(
    file: Annotated[Path, typer.Argument(help="GeoJSON FeatureCollection (WGS 84).")],
    match: str = typer.Option(..., "--match", help="code | name: how features find their area."),
    prop: str | None = typer.Option(
        None, "--property", help="Feature property holding the code or name."
    ),
    province: str | None = typer.Option(
        None, "--province", help="Only match names inside this province (e.g. 92)."
    ),
) -> None:
    """Nhập ranh giới / Import area boundaries from GeoJSON."""
    if match not in ("code", "name"):
        console.print("[red]--match phải là code hoặc name / must be code or name[/red]")
        raise typer.Exit(2)
    database = _database()
    try:
        load_areas(database)
        report = import_geojson(database, file, match=match, prop=prop, province=province)
        moved = assign_areas(database)
    except TaydoError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    finally:
        database.dispose()
    console.print(f"[green]{len(report.matched)} ranh giới đã nhập / boundaries imported[/green]")
    problems = [("không khớp / unmatched", p) for p in report.unmatched] + [
        ("không hợp lệ / invalid", p) for p in report.invalid
    ]
    if problems:
        table = Table(title="Đối tượng bị bỏ qua / features not imported")
        table.add_column("#", justify="right")
        table.add_column("loại / kind")
        table.add_column("lý do / reason")
        for kind, problem in sorted(problems, key=lambda item: item[1].index):
            table.add_row(str(problem.index), kind, problem.reason)
        console.print(table)
    console.print(f"{len(moved)} thực thể được gán lại khu vực / entities re-placed")
    if problems:
        raise typer.Exit(1)


def register(_root: typer.Typer) -> None:
    """Add ``import`` to geo's command group (once, however often the CLI is built)."""
    if not any(c.name == "import" for c in geo_app.registered_commands):
        geo_app.command("import")(import_boundaries)

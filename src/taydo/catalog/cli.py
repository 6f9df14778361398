"""``taydo pack``: load reference packs (agencies, datasets, entity types, stations)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from taydo.catalog.service import load_pack
from taydo.core.db import Database
from taydo.core.errors import TaydoError
from taydo.core.migrate import upgrade
from taydo.core.plugins import make_plugin_manager, packs
from taydo.core.settings import Settings

__all__ = ["app"]

app = typer.Typer(help="Gói dữ liệu tham chiếu / Reference-data packs.", no_args_is_help=True)
console = Console()


@app.command("list")
def list_() -> None:
    """Các gói đã cài / Packs provided by installed plugins."""
    for name, pack in sorted(packs(make_plugin_manager()).items()):
        console.print(f"{name}\t{pack.title}\t{pack.data_dir}")


@app.command("load")
def load(
    name: str | None = typer.Argument(None, help="Pack name (default: every installed pack)."),
) -> None:
    """Nạp gói / Load packs into the catalog (safe to run again: it updates)."""
    available = packs(make_plugin_manager())
    if name is not None and name not in available:
        console.print(
            f"[red]Không có gói / no pack {name!r}; có / available: "
            f"{', '.join(sorted(available)) or '—'}[/red]"
        )
        raise typer.Exit(2)
    chosen = [available[name]] if name else [available[n] for n in sorted(available)]
    database = Database(Settings().database_url)
    try:
        upgrade(database)
        table = Table(title="Gói đã nạp / packs loaded")
        for column in ("pack", "areas", "agencies", "datasets", "types", "entities", "metrics"):
            table.add_column(column, justify="left" if column == "pack" else "right")
        for pack in chosen:
            counts = load_pack(database, pack)
            table.add_row(
                pack.name,
                str(counts["areas"]),
                f"{counts['agencies']} (+{counts['agencies_new']})",
                f"{counts['datasets']} (+{counts['datasets_new']})",
                str(counts["entity_types"]),
                f"{counts['entities']} (+{counts['entities_new']})",
                str(counts["metrics"]),
            )
    except TaydoError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    finally:
        database.dispose()
    console.print(table)

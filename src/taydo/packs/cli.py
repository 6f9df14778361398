"""``taydo pack``: load reference packs (agencies, datasets, types, stations, rules, routes)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from taydo.core.db import Database
from taydo.core.errors import TaydoError
from taydo.core.migrate import upgrade
from taydo.core.plugins import make_plugin_manager, packs
from taydo.core.settings import Settings
from taydo.packs.loading import load_pack

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
        tables = [_summary(pack.name, load_pack(database, pack)) for pack in chosen]
    except TaydoError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    finally:
        database.dispose()
    for table in tables:
        console.print(table)


ROWS = (
    ("areas", "Đơn vị hành chính / areas", None),
    ("agencies", "Cơ quan / agencies", "agencies_new"),
    ("datasets", "Bộ dữ liệu / datasets", "datasets_new"),
    ("entity_types", "Loại đối tượng / entity types", None),
    ("entities", "Đối tượng / entities", "entities_new"),
    ("metrics", "Chỉ số đo / metrics", None),
    ("retention", "Chính sách lưu trữ / retention policies", None),
    ("rules", "Quy tắc cảnh báo / alert rules", None),
    ("routes", "Tuyến thông báo / notification routes", None),
    ("kpis", "Chỉ số KPI / KPIs", None),
    ("dti", "Bộ chỉ số DTI / DTI frameworks", None),
)


def _summary(name: str, counts: dict[str, int]) -> Table:
    table = Table(title=f"Gói đã nạp / pack loaded: {name}")
    table.add_column("")
    table.add_column("số lượng / count", justify="right")
    for key, label, new_key in ROWS:
        text = str(counts[key])
        if new_key is not None:
            text += f" (+{counts[new_key]})"
        table.add_row(label, text)
    return table

"""``taydo geo``: load the official administrative units.

``taydo geo import`` (boundaries, then the entities they contain are re-placed) is added to
this group by the catalog domain (``taydo.catalog.cli``), which owns the entities.
"""

from __future__ import annotations

import typer
from rich.console import Console

from taydo.core.db import Database
from taydo.core.migrate import upgrade
from taydo.core.settings import Settings
from taydo.geo.service import load_areas

__all__ = ["app"]

app = typer.Typer(help="Địa giới hành chính / Administrative units.", no_args_is_help=True)
console = Console()


def _database() -> Database:
    database = Database(Settings().database_url)
    upgrade(database)
    return database


@app.command("load")
def load() -> None:
    """Nạp danh mục đơn vị hành chính / Load Vietnam's provinces and wards (2025)."""
    database = _database()
    try:
        counts = load_areas(database)
    finally:
        database.dispose()
    console.print(
        f"[green]{counts['provinces']} tỉnh/thành phố, {counts['wards']} phường/xã/đặc khu[/green]"
        f" — {counts['added']} mới / new, {counts['updated']} cập nhật / updated"
    )

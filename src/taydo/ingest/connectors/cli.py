"""``taydo connector list`` and ``taydo connector run NAME``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from taydo.catalog.series import SeriesIndex
from taydo.core.db import Database
from taydo.core.errors import TaydoError
from taydo.core.plugins import make_plugin_manager
from taydo.core.secrets import SecretBox
from taydo.core.settings import Settings
from taydo.ingest import pipeline
from taydo.ingest.connectors import service
from taydo.ingest.resolve import EntityResolver

__all__ = ["connector_app"]

connector_app = typer.Typer(help="Kết nối kéo dữ liệu / Pull connectors.", no_args_is_help=True)
console = Console()


@connector_app.command("list")
def list_command() -> None:
    """Liệt kê / List connectors and their status."""
    database = Database(Settings().database_url)
    try:
        for item in service.list_connectors(database):
            console.print(
                f"{item['name']} ({item['kind']}, {item['agency']}): every {item['interval_s']} s,"
                f" {item['rows_ingested']} rows, watermark {item['watermark']}, "
                f"last error {item['last_error']}"
            )
    finally:
        database.dispose()


@connector_app.command("run")
def run_command(name: Annotated[str, typer.Argument(help="Connector name.")]) -> None:
    """Chạy một lần / Run one connector once."""
    settings = Settings()
    database = Database(settings.database_url)
    try:
        result = service.run_connector(
            database,
            make_plugin_manager(),
            SecretBox(settings.secret_key.get_secret_value()),
            name,
            series=SeriesIndex(database),
            resolver=EntityResolver(database),
            store=pipeline.direct_store(database, settings.display_timezone),
        )
    except TaydoError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    run = result["run"]
    console.print(
        f"{name}: {run['stored']} giá trị đã lưu / values stored, {run['rejected']} cách ly / "
        f"quarantined, watermark {result['watermark']}"
    )
    if run["error"]:
        console.print(f"[red]{run['error']}[/red]")
        raise typer.Exit(1)

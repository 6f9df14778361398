"""``taydo import file DATASET FILE``: the file gateway from the command line (the same
pipeline as an upload: ``files.service.run_import``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from taydo.catalog.series import SeriesIndex
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import TaydoError
from taydo.core.settings import Settings
from taydo.ingest import pipeline
from taydo.ingest.files import service
from taydo.ingest.resolve import EntityResolver

__all__ = ["import_app"]

import_app = typer.Typer(help="Nạp dữ liệu / Import data.", no_args_is_help=True)
console = Console()
SYSTEM = Principal(username="cli", role="admin")


@import_app.command("file")
def import_file(
    dataset: Annotated[str, typer.Argument(help="Dataset code.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".xlsx or .csv")],
    mode: Annotated[str, typer.Option(help="accept_valid | all_or_nothing")] = "accept_valid",
    report: Annotated[Path | None, typer.Option(help="Write the row report (.xlsx) here.")] = None,
) -> None:
    """Nạp tệp .xlsx/.csv vào bộ dữ liệu / Import a file with the dataset's column mapping."""
    settings = Settings()
    database = Database(settings.database_url)
    try:
        summary = service.run_import(
            database,
            SYSTEM,
            dataset,
            file.name,
            file.read_bytes(),
            mode=mode,
            series=SeriesIndex(database),
            resolver=EntityResolver(database),
            zone=settings.tz,
            store=pipeline.direct_store(database, settings.display_timezone),
        )
        if report is not None:
            report.write_bytes(service.report_xlsx(database, SYSTEM, dataset, summary["id"]))
    except TaydoError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    console.print(
        f"{summary['status']}: {summary['rows']} dòng / rows, {summary['rows_rejected']} lỗi / "
        f"with problems, {summary['values_stored']} giá trị mới đã lưu / new values stored, "
        f"{summary['values_duplicate']} trùng giá trị đã có / duplicates of stored values "
        f"(encoding {summary['encoding']})"
    )
    for problem in summary["problems"][:20]:
        console.print(f"  dòng {problem['row']} [{problem['column']}]: {problem['reason']}")
    if summary["status"] == "rejected":
        raise typer.Exit(1)

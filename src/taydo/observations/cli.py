"""``taydo db compact``: pack closed hours of raw observations now (see
``taydo.observations.compaction``). The server does the same every
``TAYDO_OBSERVATIONS_PACK_INTERVAL_S``; the command serves a first compaction after an
upgrade, a server run with compaction off, or a chosen horizon."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from taydo.core import clock
from taydo.core.db import Database
from taydo.core.settings import Settings
from taydo.observations.compaction import compact_database
from taydo.observations.packed import HOUR_MS
from taydo.observations.timestamps import parse_timestamp

__all__ = ["compact_command"]

console = Console()


def compact_command(
    before: Annotated[
        str | None,
        typer.Option(
            help="Pack points before this instant (ISO 8601 with offset, or epoch ms); "
            "default: TAYDO_OBSERVATIONS_PACK_AFTER_HOURS ago.",
        ),
    ] = None,
) -> None:
    """Nén dữ liệu quan trắc cũ / Pack raw observations of closed hours into one row per hour."""
    settings = Settings()
    if before is not None:
        try:
            before_ms = parse_timestamp(before, coerce_strings=True)
        except (ValueError, OverflowError) as bad:
            console.print(f"[red]--before: {bad}[/red]")
            raise typer.Exit(2) from None
    elif settings.observations_pack_after_hours > 0:
        before_ms = clock.now_ms() - int(settings.observations_pack_after_hours * HOUR_MS)
    else:
        console.print(
            "[red]Nén đang tắt (TAYDO_OBSERVATIONS_PACK_AFTER_HOURS=0): hãy chỉ rõ --before.\n"
            "Compaction is off (TAYDO_OBSERVATIONS_PACK_AFTER_HOURS=0): give --before.[/red]"
        )
        raise typer.Exit(2)
    database = Database(settings.database_url)
    try:
        result = compact_database(database, before_ms)
    finally:
        database.dispose()
    console.print(
        f"Đã nén / packed: {result.points} điểm / points → {result.hours} giờ / hours "
        f"({result.batches} giao dịch / transactions); mốc / watermark "
        f"{clock.ms_to_datetime(result.packed_before).isoformat()}"
    )
    for name in result.truncated:
        console.print(f"  đã giải phóng / truncated {name}")

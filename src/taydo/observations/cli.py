"""``taydo db compact``: pack closed hours of raw observations now (see
``taydo.observations.compaction``). The server does the same every
``TAYDO_OBSERVATIONS_PACK_INTERVAL_S``; the command serves a first compaction after an
upgrade, a server run with compaction off, or a chosen horizon. ``taydo db retention``: the
retention policies (see ``taydo.observations.retention``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from taydo.core import clock
from taydo.core.clock import parse_timestamp
from taydo.core.db import Database
from taydo.core.errors import TaydoError
from taydo.core.settings import Settings
from taydo.core.terminal import fail
from taydo.observations.compaction import compact_database
from taydo.observations.maintenance import apply_retention_database
from taydo.observations.packed import HOUR_MS
from taydo.observations.policies import list_policies, set_policy, unset_policy

__all__ = ["compact_command", "retention_app"]

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


retention_app = typer.Typer(
    help="Thời hạn lưu dữ liệu / Retention policies: how long each dataset's points, hourly "
    "and daily rollups are kept.",
    no_args_is_help=True,
)

_DATASET = typer.Option("--dataset", help="Dataset code; without it: the default policy.")


def _database() -> Database:
    return Database(Settings().database_url)


@retention_app.command("show")
def retention_show() -> None:
    """Các chính sách / The policies (periods as 2y, 90d or forever)."""
    database = _database()
    try:
        found = list_policies(database)
    finally:
        database.dispose()
    default = found["default"]
    console.print(
        "mặc định / default: "
        + (_line(default) if default else "không có: giữ mãi / none: kept forever")
    )
    for item in found["datasets"]:
        console.print(f"{item['dataset']}: {_line(item)}")


def _line(policy: dict[str, str]) -> str:
    return f"raw {policy['raw']}, hourly {policy['hourly']}, daily {policy['daily']}"


@retention_app.command("set")
def retention_set(
    dataset: Annotated[str | None, _DATASET] = None,
    raw: Annotated[str, typer.Option(help="Raw points: days (90, 90d), years (2y), forever")] = (
        "forever"
    ),
    hourly: Annotated[str, typer.Option(help="Hourly rollups: same forms")] = "forever",
    daily: Annotated[str, typer.Option(help="Daily rollups: same forms")] = "forever",
) -> None:
    """Đặt chính sách / Set a dataset's policy (or the default). Journaled as the system."""
    database = _database()
    try:
        shown = set_policy(database, dataset, {"raw": raw, "hourly": hourly, "daily": daily}, None)
    except TaydoError as error:
        fail(console, error, exit_code=2)
    finally:
        database.dispose()
    console.print(f"{dataset or 'mặc định / default'}: {_line(shown)}")


@retention_app.command("unset")
def retention_unset(dataset: Annotated[str | None, _DATASET] = None) -> None:
    """Bỏ chính sách / Remove a policy (the dataset follows the default again)."""
    database = _database()
    try:
        unset_policy(database, dataset, None)
    except TaydoError as error:
        fail(console, error, exit_code=2)
    finally:
        database.dispose()
    console.print(f"{dataset or 'mặc định / default'}: đã bỏ / removed")


@retention_app.command("apply")
def retention_apply() -> None:
    """Xóa dữ liệu hết hạn / Remove what expired now (the server does it after each
    compaction run; use this from cron when compaction is off)."""
    database = _database()
    try:
        run = apply_retention_database(database, clock.now_ms())
    finally:
        database.dispose()
    for name in run.dropped:
        console.print(f"  đã xóa phân vùng / dropped partition {name}")
    for table, count in sorted(run.deleted.items()):
        console.print(f"  {table}: đã xóa / deleted {count} rows")
    console.print(
        f"Xong / done: {len(run.dropped)} phân vùng / partitions, {run.rows_deleted} dòng / rows"
    )

"""``taydo simulate``: history into the store, then live values (to a server or the store)."""

from __future__ import annotations

import asyncio
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from taydo.core.clock import now_ms
from taydo.core.db import Database
from taydo.core.settings import Settings

if TYPE_CHECKING:  # imported when the command runs: the CLI starts without them
    from taydo.packs.cantho.simulator import Simulator
    from taydo.packs.cantho.simulator.driver import Sink

__all__ = ["simulate"]

console = Console()


def _duration(text: str, option: str) -> float:
    from taydo.packs.cantho.simulator.driver import parse_duration

    try:
        return parse_duration(text)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint=option) from None


def simulate(
    backfill: str | None = typer.Option(
        None,
        "--backfill",
        help="Write this much history first, e.g. 30d (straight into the store).",
    ),
    backfill_step: str = typer.Option("5m", help="Spacing of the history values."),
    interval: str = typer.Option("60s", help="Live tick: one value per series per interval."),
    seed: int = typer.Option(0, help="Seed of the synthetic noise (same seed, same values)."),
    url: str | None = typer.Option(
        None, help="Send live values to this server (POST /api/v1/observations)."
    ),
    token: str | None = typer.Option(
        None, envvar="TAYDO_SIMULATOR_TOKEN", help="Bearer token for --url (or the env var)."
    ),
    live: bool = typer.Option(True, "--live/--no-live", help="Run live after the backfill."),
    ticks: int | None = typer.Option(None, help="Stop after this many live ticks."),
) -> None:
    """Mô phỏng Cần Thơ / Synthetic live feeds for the Cần Thơ stations.

    Without --url the live values go straight into the database of TAYDO_DATABASE_URL (no
    alerts fire, nothing is published); with --url and --token they are posted to a server
    like a real sensor gateway would.
    """
    from taydo.packs.cantho.simulator import Simulator

    step_s = _duration(backfill_step, "--backfill-step")
    interval_s = _duration(interval, "--interval")
    span_s = _duration(backfill, "--backfill") if backfill else None
    if url and not token:
        raise typer.BadParameter("--url cần --token / --url needs --token", param_hint="--token")
    # the store is needed for the history and for live values without a server
    database = _open_store() if span_s is not None or not url else None
    series = _catalog_series(database) if database is not None else {}
    simulator = Simulator(seed=seed)
    zone = Settings().tz
    try:
        if span_s is not None and database is not None:
            _backfill(database, simulator, series, span_s, step_s)
        if live:
            _live(simulator, _sink(url, token, database, series), url, interval_s, ticks, zone)
    except KeyboardInterrupt:
        console.print("Đã dừng / stopped")
    finally:
        if database is not None:
            database.dispose()


def _open_store() -> Database:
    return Database(Settings().database_url)


def _catalog_series(database: Database) -> dict[tuple[str, str], int]:
    """The simulated (station, metric) series of the catalog; exits if the pack is not loaded."""
    from taydo.packs.cantho.simulator.driver import series_map

    series = series_map(database)
    if not series:
        console.print(
            "[red]Chưa có trạm nào trong danh mục: chạy `taydo pack load cantho` trước.\n"
            "The catalog has no series: run `taydo pack load cantho` first.[/red]"
        )
        database.dispose()
        raise typer.Exit(2)
    return series


def _backfill(
    database: Database,
    simulator: Simulator,
    series: dict[tuple[str, str], int],
    span_s: float,
    step_s: float,
) -> None:
    """Write the last ``span_s`` of history straight into the store, with a progress bar."""
    from taydo.packs.cantho.simulator.driver import backfill as write_history

    end = now_ms()
    start = end - int(span_s * 1000)
    with Progress(
        TextColumn("[bold]Ghi lịch sử / backfill"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("backfill", total=None)
        stored = write_history(
            database,
            simulator.only(set(series)),
            series,
            start,
            end,
            int(step_s * 1000),
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    console.print(f"Đã ghi / stored {stored} giá trị / values")


def _sink(
    url: str | None,
    token: str | None,
    database: Database | None,
    series: dict[tuple[str, str], int],
) -> Sink:
    """Where live values go: a server (``--url``) or straight into the store."""
    from taydo.packs.cantho.simulator.driver import HttpSink, StoreSink

    if url:
        return HttpSink(url, token or "")
    assert database is not None, "without --url the store is open"
    return StoreSink(database, series)


def _live(
    simulator: Simulator,
    sink: Sink,
    url: str | None,
    interval_s: float,
    ticks: int | None,
    zone: tzinfo,
) -> None:
    """Send a value per series every ``interval_s`` until Ctrl-C (or ``ticks`` ticks)."""
    from taydo.packs.cantho.simulator.driver import HttpSink, SinkRefused, run_live

    def on_tick(ts: int, accepted: int) -> None:
        moment = datetime.fromtimestamp(ts / 1000, zone)
        console.print(f"{moment:%Y-%m-%d %H:%M:%S} — {accepted} giá trị mới / new values")

    console.print(
        f"Mô phỏng trực tiếp mỗi / live every {interval_s:g} s → {url or 'database'}"
        " (Ctrl-C để dừng / to stop)"
    )

    async def feed() -> None:
        try:
            await run_live(simulator, sink, interval_s, ticks=ticks, on_tick=on_tick)
        finally:
            if isinstance(sink, HttpSink):
                await sink.aclose()

    try:
        asyncio.run(feed())
    except SinkRefused as refused:
        console.print(f"[red]{refused}[/red]")
        raise typer.Exit(2) from None

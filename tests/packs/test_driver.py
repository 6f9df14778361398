"""The simulator writing into the real store: backfill, `taydo simulate`, live to a server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from taydo.cli import app as cli_app
from taydo.core.db import Database
from taydo.observations.models import Observation
from taydo.packs.cantho.simulator import Simulator, value
from taydo.packs.cantho.simulator.driver import (
    HttpSink,
    align,
    backfill,
    last_timestamp,
    parse_duration,
    run_live,
    series_map,
)
from taydo.packs.cantho.simulator.stations import load_stations

HOUR_MS = 3_600_000
STEP_MS = 600_000  # 10 minutes


def _count(database: Database) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Observation)).scalar())


def test_parse_duration() -> None:
    assert parse_duration("30d") == 30 * 86400
    assert parse_duration("60s") == parse_duration("1m") == parse_duration("60")
    for bad in ("", "10x", "-5m", "0s", "m"):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)


def test_every_pack_series_is_fed(cantho: Database) -> None:
    series = series_map(cantho)
    fed = Simulator().only(set(series))
    assert len(series) >= 100
    assert {(s.entity_id, m) for s, m in fed.pairs} == set(series)


def test_backfill_stores_every_tick_once_with_the_simulated_values(cantho: Database) -> None:
    series = series_map(cantho)
    simulator = Simulator(seed=5).only(set(series))
    end = align(1_795_000_000_000, STEP_MS)
    start = end - 2 * HOUR_MS
    progress: list[tuple[int, int]] = []
    stored = backfill(
        cantho,
        simulator,
        series,
        start,
        end,
        STEP_MS,
        batch_size=500,
        on_progress=lambda done, total: progress.append((done, total)),
    )
    ticks = 2 * HOUR_MS // STEP_MS + 1
    assert stored == ticks * len(series) == _count(cantho)
    assert progress[-1] == (ticks, ticks) and len(progress) > 1
    assert last_timestamp(cantho, series.values()) == end
    # What is stored is what value() says.
    can_tho = next(s for s in load_stations() if s.id == "can-tho")
    sid = series[(can_tho.entity_id, "height")]
    with cantho.engine.connect() as connection:
        stored_value = connection.execute(
            select(Observation.value).where(Observation.series_id == sid, Observation.ts == end)
        ).scalar()
    assert stored_value == value(can_tho, "height", end, seed=5)
    # Running it again (a restart) adds nothing.
    assert backfill(cantho, simulator, series, start, end, STEP_MS) == 0
    assert _count(cantho) == stored


def test_last_timestamp_is_none_without_data(cantho: Database) -> None:
    assert last_timestamp(cantho, series_map(cantho).values()) is None


def test_simulate_backfill_command(cantho: Database) -> None:
    runner = CliRunner()
    env = {"TAYDO_DATABASE_URL": cantho.url}
    result = runner.invoke(
        cli_app,
        ["simulate", "--backfill", "3h", "--backfill-step", "30m", "--no-live", "--seed", "2"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    series = series_map(cantho)
    stored = _count(cantho)
    assert stored >= 6 * len(series)  # 6 or 7 half-hour ticks in 3 hours
    assert "stored" in result.output
    # Same command again: the same ticks, nothing new (the last tick may be newer).
    again = runner.invoke(
        cli_app,
        ["simulate", "--backfill", "3h", "--backfill-step", "30m", "--no-live", "--seed", "2"],
        env=env,
    )
    assert again.exit_code == 0, again.output
    assert _count(cantho) <= stored + len(series)


def test_simulate_refuses_bad_options(cantho: Database) -> None:
    runner = CliRunner()
    env = {"TAYDO_DATABASE_URL": cantho.url}
    result = runner.invoke(cli_app, ["simulate", "--interval", "soon", "--no-live"], env=env)
    assert result.exit_code == 2
    assert "invalid duration" in result.output
    result = runner.invoke(
        cli_app, ["simulate", "--url", "http://127.0.0.1:9", "--ticks", "1"], env=env
    )
    assert result.exit_code == 2
    assert "--token" in result.output


def test_simulate_without_pack_says_what_to_do(database: Database) -> None:
    result = CliRunner().invoke(
        cli_app,
        ["simulate", "--backfill", "1h", "--no-live"],
        env={"TAYDO_DATABASE_URL": database.url},
    )
    assert result.exit_code == 2
    assert "taydo pack load cantho" in result.output


def test_simulate_posts_live_values_to_a_server(
    cantho: Database, live_server: str, headers_for: Callable[..., dict[str, str]]
) -> None:
    token = headers_for("operator")["Authorization"].removeprefix("Bearer ")
    result = CliRunner().invoke(
        cli_app,
        ["simulate", "--url", live_server, "--interval", "1s", "--ticks", "2"],
        env={"TAYDO_DATABASE_URL": cantho.url, "TAYDO_SIMULATOR_TOKEN": token},
    )
    assert result.exit_code == 0, result.output
    series = series_map(cantho)
    # Read back through the server, as a user would: its /latest sees every answered point
    # (the table itself may trail the answers by up to a second, see docs/observations.md).
    answer = httpx.get(f"{live_server}/api/v1/latest", headers=headers_for("viewer"), timeout=30)
    assert answer.status_code == 200, answer.text
    latest = {(item["entity_id"], item["metric"]) for item in answer.json()}
    assert latest == set(series)  # every series received its live value over HTTP
    assert f"{len(series)} giá trị mới / new values" in result.output


def test_simulate_stops_on_a_refused_token(cantho: Database, live_server: str) -> None:
    result = CliRunner().invoke(
        cli_app,
        ["simulate", "--url", live_server, "--token", "tdk_wrong", "--ticks", "1"],
        env={"TAYDO_DATABASE_URL": cantho.url},
    )
    assert result.exit_code == 2
    assert "401" in result.output
    assert "tdk_wrong" not in result.output  # a token is never echoed


def test_http_sink_keeps_readings_while_the_server_is_down(cantho: Database) -> None:
    from tests.serving import free_port

    sink = HttpSink(f"http://127.0.0.1:{free_port()}", "tdk_x", timeout_s=2)
    simulator = Simulator().only(set(series_map(cantho)))

    async def two_ticks() -> None:
        try:
            await run_live(simulator, sink, 0.2, ticks=2)
        finally:
            await sink.aclose()

    asyncio.run(two_ticks())
    assert sink.pending == 2 * len(simulator.pairs)  # nothing lost, waiting for the server


def test_simulate_live_into_the_database_without_a_server(cantho: Database) -> None:
    result = CliRunner().invoke(
        cli_app,
        ["simulate", "--interval", "1s", "--ticks", "2"],
        env={"TAYDO_DATABASE_URL": cantho.url},
    )
    assert result.exit_code == 0, result.output
    series = series_map(cantho)
    assert _count(cantho) == 2 * len(series)
    assert last_timestamp(cantho, series.values()) is not None

"""``taydo demo``: a living Cần Thơ IOC on this machine in one command.

It uses ``./taydo-demo.db`` (SQLite) and the in-process bus, brings the schema up to date,
loads the Cần Thơ pack, creates the demo accounts, the notification channels the pack's routes
name (delivering to the demo's own inbox, ``inbox.py``) and the Smart Data Models contexts of
the pack's types (generated, ``contexts.py``), writes recent history the first time (and the gap
since the last run afterwards), then serves http://127.0.0.1:8000 with the simulator feeding
live values through the server's own writer, so alerts fire as they would with real sensors.
Ctrl-C stops it cleanly; the next run reuses the data. See docs/demo.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from taydo.core.db import Database
from taydo.core.settings import Settings

__all__ = ["DemoError", "DemoOptions", "demo_command", "port_in_use", "prepare", "run_demo"]

DAY_S = 86_400


@dataclass(frozen=True)
class DemoOptions:
    path: Path = Path("taydo-demo.db")
    host: str = "127.0.0.1"
    port: int = 8000
    seed: int = 0
    interval_s: float = 60.0  # live tick
    backfill_s: float = 14 * DAY_S  # history written on the first start
    backfill_step_s: float = 600.0  # spacing of that history (10 minutes)


class DemoError(Exception):
    """A problem the user can fix (port in use, …); shown without a traceback."""


def contexts_dir(options: DemoOptions) -> Path:
    """The demo's own context store, beside its database (``taydo-demo.db.contexts``)."""
    return options.path.with_name(options.path.name + ".contexts")


def _secret_key(db_path: Path) -> str:
    """A per-demo signing key kept beside the database, so sessions survive a restart."""
    key_file = db_path.with_name(db_path.name + ".key")
    if key_file.exists():
        return key_file.read_text(encoding="utf-8").strip()
    key = secrets.token_urlsafe(32)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key


def demo_settings(options: DemoOptions) -> Settings:
    base = Settings()
    return base.model_copy(
        update={
            "database_url": f"sqlite:///{options.path}",
            "bus_url": "memory://",
            "host": options.host,
            "port": options.port,
            "dev": True,
            "secret_key": SecretStr(_secret_key(options.path)),
            "contexts_dir": contexts_dir(options),
        }
    )


def port_in_use(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port (what to do included), or None.

    Checked before anything starts, so a taken port costs a second, not a whole start-up
    ending in the web server's own bind error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as error:
            return (
                f"Cổng {host}:{port} đang bận hoặc không dùng được — dừng máy chủ kia hoặc dùng "
                f"--port.\nPort {host}:{port} is in use or not available ({error.strerror}): "
                "stop the other server or choose another with --port (make demo PORT=…)."
            )
    return None


def _check_port(host: str, port: int) -> None:
    busy = port_in_use(host, port)
    if busy is not None:
        raise DemoError(busy)


@contextlib.contextmanager
def _uninterrupted() -> Iterator[None]:
    """Hold Ctrl-C until the block is done, then honour it.

    The upgrade is atomic by itself; holding Ctrl-C keeps the pack and the demo accounts
    from being left half-loaded, and they take only a few seconds."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def prepare(
    database: Database, options: DemoOptions, console: Console, *, inbox_secret: str = ""
) -> dict[str, Any]:
    """Schema, pack, accounts, channels, contexts and history; returns what was done (for the
    banner and tests). ``inbox_secret`` signs the deliveries to the demo's inbox."""
    from taydo.auth.service import ensure_demo_users
    from taydo.core import clock
    from taydo.core.migrate import upgrade
    from taydo.core.plugins import make_plugin_manager, packs
    from taydo.demo import contexts
    from taydo.demo import kpi as kpi_demo
    from taydo.demo.citizen import seed_reports
    from taydo.demo.directives import seed_directives
    from taydo.demo.inbox import demo_channels
    from taydo.demo.incidents import seed_incidents
    from taydo.demo.people import ensure_officers
    from taydo.demo.workforce import seed_workforce
    from taydo.packs.cantho.simulator import Simulator
    from taydo.packs.cantho.simulator.driver import backfill, last_timestamp, series_map
    from taydo.packs.loading import load_pack

    with _uninterrupted():
        with console.status("Cập nhật cơ sở dữ liệu / upgrading the schema…"):
            upgrade(database)
        with console.status("Nạp dữ liệu Cần Thơ / loading the Cần Thơ pack…"):
            pack = packs(make_plugin_manager())["cantho"]
            counts = load_pack(database, pack)
        accounts = ensure_demo_users(database)
        ensure_officers(database)
        counts["citizen_reports"] = seed_reports(database)
        channels = demo_channels(database, _base_url(options), inbox_secret or _new_secret())
        contexts.fill(contexts_dir(options), pack.data_dir)
        workforce = seed_workforce(database)

    series = series_map(database)
    simulator = Simulator(seed=options.seed).only(set(series))
    step_ms = int(options.backfill_step_s * 1000)
    now_ms = _now_ms()
    last = last_timestamp(database, series.values())
    start = now_ms - int(options.backfill_s * 1000)
    if last is not None:
        start = max(start, last + 1)  # only the gap since the last run
    written = 0
    if now_ms - start >= step_ms and simulator.pairs:
        title = (
            "Ghi dữ liệu lịch sử / writing history"
            if last is None
            else "Bù khoảng trống từ lần chạy trước / filling the gap since the last run"
        )
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        ) as progress:
            task = progress.add_task(title, total=None)

            def report(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            written = backfill(
                database, simulator, series, start, now_ms, step_ms, on_progress=report
            )
    # After the history, so the king-tide incident links the alarm it raised; the urgent
    # directive then names that incident.
    incident = seed_incidents(database)
    directives = seed_directives(database, king_tide_incident=incident)
    with console.status("Tính chỉ số KPI / computing the KPIs…"):
        kpi_entries = kpi_demo.fill(database, now=clock.now(), zone=Settings().display_timezone)
    return {
        "pack": counts,
        "kpi_entries": kpi_entries,
        "accounts": accounts,
        "series": len(simulator.pairs),
        "first_run": last is None,
        "backfilled": written,
        "channels": channels,
        "directives": directives,
        "workforce": workforce,
    }


def _base_url(options: DemoOptions) -> str:
    """Where the server reaches itself (a wildcard bind address is not one to connect to)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(options.host, options.host)  # noqa: S104
    return f"http://[{host}]:{options.port}" if ":" in host else f"http://{host}:{options.port}"


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def _banner(options: DemoOptions, info: dict[str, Any], console: Console) -> None:
    base = f"http://{options.host}:{options.port}"
    console.print()
    console.print(f"[bold green]Tây Đô IOC đang chạy / is running[/bold green] — {base}")
    console.print(f"  Bảng điều khiển / console : {base}/")
    console.print(f"  Tài liệu API / API docs    : {base}/api/docs")
    console.print(
        f"  Mô phỏng / simulator       : {info['series']} chuỗi / series, "
        f"mỗi / every {options.interval_s:g} s"
    )
    if info["accounts"]:
        table = Table(title="Tài khoản demo (chỉ hiện một lần) / demo accounts (shown once)")
        table.add_column("Tên đăng nhập / user")
        table.add_column("Mật khẩu / password")
        table.add_column("Vai trò / role")
        for username, password, role in info["accounts"]:
            table.add_row(username, password, role)
        console.print(table)
    else:
        console.print(
            "  Tài khoản demo đã có từ lần trước (mật khẩu đã in lúc tạo) / demo accounts "
            "exist from an earlier run (their passwords were printed when created).",
            soft_wrap=True,
        )
    console.print("  Dừng: Ctrl-C / stop with Ctrl-C")


def _with_live_simulator(
    app: Any, options: DemoOptions, info: dict[str, Any], console: Console
) -> None:
    """Run the simulator as a task inside the server, between start-up and shut-down of the
    app's domains, so it writes through the app's observation writer while it exists."""
    from taydo.core.runtime import runtime_of
    from taydo.packs.cantho.simulator import Simulator
    from taydo.packs.cantho.simulator.driver import WriterSink, run_live

    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with inner(application) as state:
            simulator = Simulator(seed=options.seed)
            task = asyncio.create_task(
                run_live(simulator, WriterSink(runtime_of(application)), options.interval_s),
                name="taydo-demo-simulator",
            )
            _banner(options, info, console)
            try:
                yield state
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.router.lifespan_context = lifespan


async def _serve(app: Any, options: DemoOptions) -> None:
    import uvicorn

    config = uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )

    class QuietServer(uvicorn.Server):
        """Stops on Ctrl-C or SIGTERM after a complete shut-down.

        uvicorn re-raises the signal once it has stopped, which makes ``asyncio.run`` cancel
        the app's shut-down half-way (a traceback, and the writer's last batch at risk). Here
        the signal only asks the server to exit; the shut-down then runs to its end.
        """

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, self.handle_exit, signum, None)
            try:
                yield
            finally:
                for signum in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(signum)

    await QuietServer(config).serve()


def run_demo(options: DemoOptions, console: Console) -> None:
    """Prepare and serve until Ctrl-C. Raises DemoError for problems the user can fix."""
    from taydo.app import create_app
    from taydo.demo.inbox import DemoInbox

    _check_port(options.host, options.port)
    if not options.path.parent.is_dir():  # the key file and the database go there
        raise DemoError(
            f"Không có thư mục / no folder {options.path.parent} for --db {options.path}: "
            "create it or choose another path."
        )
    settings = demo_settings(options)
    database = Database(settings.database_url)
    inbox_secret = _new_secret()  # per run: the demo's channels are saved with it each start
    try:
        info = prepare(database, options, console, inbox_secret=inbox_secret)
        app = create_app(settings, database=database)
        DemoInbox(
            inbox_secret, lambda line: console.print(line, markup=False, soft_wrap=True)
        ).mount(app)
        _with_live_simulator(app, options, info, console)
        try:
            asyncio.run(_serve(app, options))
        except SystemExit as exit_:
            if exit_.code:
                raise DemoError("Máy chủ không khởi động được / the server did not start") from None
    finally:
        database.dispose()


def _now_ms() -> int:
    from taydo.core.clock import now_ms

    return now_ms()


def demo_command(
    db: str = typer.Option("taydo-demo.db", help="SQLite file of the demo."),
    host: str = typer.Option("127.0.0.1", help="Bind address."),
    port: int = typer.Option(8000, help="Port."),
    seed: int = typer.Option(0, help="Seed of the simulator's noise."),
    interval: str = typer.Option("60s", help="Live tick of the simulator."),
    backfill: str = typer.Option("14d", help="History written on the first start."),
    backfill_step: str = typer.Option("10m", help="Spacing of that history."),
) -> None:
    """Chạy bản demo Cần Thơ / Run the living Cần Thơ demo (what `make demo` runs)."""
    from taydo.packs.cantho.simulator.driver import parse_duration

    # A shell starts background jobs with SIGINT ignored; restore Ctrl-C (KeyboardInterrupt)
    # so `kill -INT` stops the demo at any stage, the backfill included.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    console = Console()
    try:
        options = DemoOptions(
            path=Path(db),
            host=host,
            port=port,
            seed=seed,
            interval_s=parse_duration(interval),
            backfill_s=parse_duration(backfill),
            backfill_step_s=parse_duration(backfill_step),
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    try:
        run_demo(options, console)
    except DemoError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        pass  # Ctrl-C: uvicorn has shut the server down; nothing else to undo
    console.print("Đã dừng Tây Đô demo; dữ liệu giữ lại trong / stopped; data kept in " + db)

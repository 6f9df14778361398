"""The ``taydo`` command: its own commands (version, db, serve, demo, simulate, pack) and every
registered domain's command groups (each domain keeps them in its own ``cli.py`` and adds them
through its ``Domain.cli``)."""

from __future__ import annotations

import logging
import sys
from typing import Any

import typer
import typer.core
from rich.console import Console

from taydo import __version__
from taydo.core.db import Database, explain_database_error
from taydo.core.migrate import upgrade
from taydo.core.plugins import domains, make_plugin_manager
from taydo.core.settings import Settings
from taydo.demo import demo_command, port_in_use
from taydo.observations.cli import compact_command, retention_app
from taydo.packs import cli as pack_cli
from taydo.packs.cantho.simulator.cli import simulate

app = typer.Typer(
    help="Tây Đô IOC — Trung tâm Giám sát, điều hành đô thị thông minh. Settings come from "
    "TAYDO_* variables and ./taydo.toml; the database from TAYDO_DATABASE_URL (default "
    "sqlite:///./taydo.db, created by `taydo db upgrade`). See docs/cli.md.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)
db_app = typer.Typer(help="Cơ sở dữ liệu / Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(pack_cli.app, name="pack")
db_app.command("compact")(compact_command)
db_app.add_typer(retention_app, name="retention")
app.command("demo")(demo_command)
app.command("simulate")(simulate)
for _domain in domains(make_plugin_manager()):
    if _domain.cli is not None:
        _domain.cli(app)
console = Console()

# Commands that never open the IOC's database (the demo opens its own file); every other
# command's help ends by naming where its database comes from.
WITHOUT_DATABASE = {
    "version",
    "demo",
    "pack list",
    "contexts add",
    "contexts list",
    "contexts remove",
    "rules validate",
}
DATABASE_EPILOG = (
    "Cơ sở dữ liệu / database: TAYDO_DATABASE_URL (default sqlite:///./taydo.db in the current "
    "folder); `taydo db upgrade` creates or updates its schema."
)


def _name_the_database(group: typer.Typer, path: list[str]) -> None:
    for info in group.registered_commands:
        name = info.name or (info.callback.__name__.replace("_", "-") if info.callback else "")
        if " ".join([*path, name]) not in WITHOUT_DATABASE and not info.epilog:
            info.epilog = DATABASE_EPILOG
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _name_the_database(sub.typer_instance, [*path, sub.name or ""])


def _flags_take_no_value() -> None:
    """Show no type after an on/off flag in the help (``--dev``, ``--help``).

    Typer's rich help writes the value type of every option, so a flag read ``--dev <bool>``,
    as if it wanted a value after it; options that take a value keep theirs (``<int>``)."""
    shown = typer.core.TyperOption.display_type_rich

    def display_type_rich(self: typer.core.TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    typer.core.TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


def settings() -> Settings:
    return Settings()


@app.command()
def version() -> None:
    """Phiên bản / Print the version."""
    console.print(f"taydo {__version__}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Nâng cấp lược đồ / Bring the database schema up to date."""
    current = settings()
    database = Database(current.database_url)
    try:
        upgrade(database)
    finally:
        database.dispose()
    console.print("[green]Cơ sở dữ liệu đã cập nhật / database is up to date[/green]")


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address (default: TAYDO_HOST)."),
    port: int | None = typer.Option(None, help="Port (default: TAYDO_PORT)."),
    dev: bool = typer.Option(False, "--dev", help="Development mode (allows demo secrets)."),
    workers: int = typer.Option(
        1,
        min=1,
        max=64,
        help="Worker processes on this machine (needs PostgreSQL and a nats:// bus when > 1).",
    ),
    proxy_headers: bool = typer.Option(
        True,
        "--proxy-headers/--no-proxy-headers",
        help="Take the client address and scheme from X-Forwarded-For/-Proto, only when they "
        "come from --forwarded-allow-ips (uvicorn's default, kept).",
    ),
    forwarded_allow_ips: str = typer.Option(
        "127.0.0.1",
        help="Comma-separated addresses of the trusted reverse proxies ('*': any).",
    ),
    worker_fd: int | None = typer.Option(
        None, hidden=True, help="Internal: the listening socket a --workers supervisor hands over."
    ),
    worker: int | None = typer.Option(
        None, hidden=True, help="Internal: this worker's number under --workers."
    ),
) -> None:
    """Chạy máy chủ / Run the IOC server (upgrades the schema first)."""
    from taydo.app import create_app
    from taydo.core.runtime import runtime_of
    from taydo.core.serving import ServeOptions, run

    current = settings()
    if dev:
        current = current.model_copy(update={"dev": True})
    if worker is not None:  # each worker is its own MQTT client in the shared subscription
        current = current.model_copy(
            update={"mqtt_client_id": f"{current.mqtt_client_id}-w{worker}"}
        )
    if workers > 1 and not (
        current.database_url.startswith("postgresql") and current.bus_url.startswith("nats://")
    ):
        console.print(
            "[red]--workers > 1 cần PostgreSQL và bus NATS (TAYDO_DATABASE_URL, TAYDO_BUS_URL).\n"
            "--workers > 1 needs PostgreSQL and a nats:// bus: processes share work through "
            "them.[/red]"
        )
        raise typer.Exit(2)
    weak_key = current.secret_key_problem()
    if weak_key is not None:
        console.print(
            f"[red]Từ chối chạy / refusing to start: {weak_key}. Đặt TAYDO_SECRET_KEY (ít nhất "
            "32 byte ngẫu nhiên) hoặc dùng --dev / set TAYDO_SECRET_KEY to 32 or more random "
            "bytes (e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`), "
            "or use --dev.[/red]",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    host, port = host or current.host, port or current.port
    # Before the schema and the app: nothing to undo. A worker of --workers is handed the
    # supervisor's bound socket, so only the supervisor (or a single process) checks.
    busy = port_in_use(host, port) if worker_fd is None else None
    if busy is not None:
        console.print(f"[red]{busy}[/red]", soft_wrap=True)
        raise typer.Exit(2)
    database = Database(current.database_url)
    upgrade(database)
    if not current.dev:
        from taydo.auth.service import demo_password_users

        demo = demo_password_users(database)
        if demo:
            console.print(
                "[red]Từ chối chạy khi tài khoản còn mật khẩu demo: "
                f"{', '.join(demo)}. Đổi bằng `taydo user set-password TÊN`, hoặc dùng --dev.\n"
                "Refusing to start while accounts still have demo passwords: change them with "
                "`taydo user set-password NAME` (or disable them), or use --dev.[/red]"
            )
            database.dispose()
            raise typer.Exit(2)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if workers > 1:
        database.dispose()
        raise typer.Exit(
            _supervise(
                workers,
                host,
                port,
                dev,
                proxy_headers,
                forwarded_allow_ips,
            )
        )
    app_ = create_app(current, database=database)
    tune_garbage_collector()
    tune_thread_switching()
    run(
        app_,
        ServeOptions(
            host=host,
            port=port,
            proxy_headers=proxy_headers,
            forwarded_allow_ips=forwarded_allow_ips,
            shutdown_timeout_s=current.shutdown_timeout_s,
            fd=worker_fd,
            on_exit=[runtime_of(app_).stopping],
        ),
    )


def _supervise(
    workers: int, host: str, port: int, dev: bool, proxy_headers: bool, allow_ips: str
) -> int:
    """``serve --workers N``: N children of ``taydo serve`` on one socket bound here."""
    from taydo.core.serving import child_command, supervise

    def child(fd: int, number: int) -> list[str]:
        return [
            *child_command(),
            "serve",
            "--worker-fd",
            str(fd),
            "--worker",
            str(number),
            "--forwarded-allow-ips",
            allow_ips,
            "--proxy-headers" if proxy_headers else "--no-proxy-headers",
            *(["--dev"] if dev else []),
        ]

    return supervise(workers, host, port, child)


def tune_garbage_collector() -> None:
    """Tune the cyclic collector for a long-running server.

    An ingest batch allocates ~10⁵ short-lived containers with no cycles (reference counting
    frees them); at the default threshold of 700 they trigger thousands of collections per
    second that walk the whole heap. Freezing what start-up built keeps it out of every
    collection, and a larger first-generation threshold keeps collections rare.
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def tune_thread_switching() -> None:
    """Let a thread waiting for the GIL have it after 0.5 ms instead of 5 ms.

    The observation writer releases the GIL for every row SQLite inserts and must take it
    back before the next; while a request thread decodes and validates a batch (pure Python,
    milliseconds), each of those hand-backs could wait the whole switch interval. Measured on
    the live-feed ingest benchmark: 37,477 against 31,130 and 46,033 against 39,609 obs/s
    (alternating runs on a loaded 2-core machine)."""
    import sys

    sys.setswitchinterval(0.0005)


_name_the_database(app, [])
_flags_take_no_value()


def main() -> None:
    try:
        app()
    except Exception as error:
        # A wrong TAYDO_DATABASE_URL, a server that is down or a schema not yet created is
        # the user's to fix: one line saying so, not a driver's traceback.
        line = explain_database_error(error, settings().database_url)
        if line is None:
            raise
        print(line, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()

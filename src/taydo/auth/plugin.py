"""The identity domain as the IOC's plugin: users, roles, tokens, sessions, the audit journal."""

from __future__ import annotations

from pathlib import Path

import typer

from taydo.auth import api, cli, pages
from taydo.auth.authn import authenticator
from taydo.auth.denied import DeniedJournal
from taydo.auth.sessions import csrf_token
from taydo.core.plugins import Domain, hookimpl
from taydo.core.runtime import Runtime

HERE = Path(__file__).parent


def _setup(runtime: Runtime) -> None:
    runtime.authenticate = authenticator(runtime.db)
    runtime.csrf_token = csrf_token
    denied = runtime.provide(DeniedJournal(runtime.db))
    runtime.request_observers.append(denied.observe)


async def _start(runtime: Runtime) -> None:
    # The same app may start again on another event loop (nested test clients): the
    # journal's writer runs once, from the first start to the last stop.
    if runtime.first_start("auth"):
        await runtime.get(DeniedJournal).start()


async def _stop(runtime: Runtime) -> None:
    if runtime.last_stop("auth"):
        await runtime.get(DeniedJournal).stop()


def _cli(root: typer.Typer) -> None:
    root.add_typer(cli.user_app, name="user")
    root.add_typer(cli.token_app, name="token")
    root.add_typer(cli.audit_app, name="audit")
    root.add_typer(cli.display_app, name="display")


@hookimpl
def taydo_domains() -> list[Domain]:
    return [
        Domain(
            name="auth",
            routers=(api.router, pages.router),
            cli=_cli,
            migrations=HERE / "migrations",
            templates=HERE / "templates",
            setup=_setup,
            start=_start,
            stop=_stop,
        )
    ]

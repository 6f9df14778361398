"""The identity domain as the IOC's plugin: users, roles, tokens, sessions, the audit journal."""

from __future__ import annotations

from pathlib import Path

import typer

from taydo.auth import api, cli, pages
from taydo.auth.authn import authenticator
from taydo.auth.sessions import csrf_token
from taydo.core.plugins import Domain, hookimpl
from taydo.core.runtime import Runtime

HERE = Path(__file__).parent


def _setup(runtime: Runtime) -> None:
    runtime.authenticate = authenticator(runtime.db)
    runtime.csrf_token = csrf_token


def _cli(root: typer.Typer) -> None:
    root.add_typer(cli.user_app, name="user")
    root.add_typer(cli.token_app, name="token")
    root.add_typer(cli.audit_app, name="audit")


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
        )
    ]

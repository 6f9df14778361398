"""The digital workforce domain as the IOC's plugin: its API, console pages, commands and
tables."""

from __future__ import annotations

from pathlib import Path

import typer

from taydo.core.plugins import Domain, NavItem, hookimpl
from taydo.web.i18n import N_
from taydo.workforce import api, cli, pages

HERE = Path(__file__).parent


def _cli(root: typer.Typer) -> None:
    root.add_typer(cli.workforce_app, name="workforce")


@hookimpl
def taydo_domains() -> list[Domain]:
    return [
        Domain(
            name="workforce",
            requires=("auth", "geo", "catalog", "ingest"),
            routers=(api.router, pages.router),
            cli=_cli,
            migrations=HERE / "migrations",
            templates=HERE / "templates",
            navigation=(
                NavItem("workforce", "/workforce", N_("Nhân lực số"), "workforce:read", order=60),
            ),
        )
    ]

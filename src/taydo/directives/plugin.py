"""The directives domain as the IOC's plugin."""

from __future__ import annotations

from pathlib import Path

import typer

from taydo.core.plugins import Domain, NavItem, hookimpl
from taydo.directives import api, cli, pages, runtime
from taydo.web.i18n import N_

HERE = Path(__file__).parent


def _cli(root: typer.Typer) -> None:
    root.add_typer(cli.directives_app, name="directives")


@hookimpl
def taydo_domains() -> list[Domain]:
    return [
        Domain(
            name="directives",
            requires=("auth", "catalog", "alerts"),
            routers=(api.router, pages.router),
            cli=_cli,
            migrations=HERE / "migrations",
            templates=HERE / "templates",
            navigation=(
                NavItem("directives", "/directives", N_("Chỉ đạo"), "directives:read", order=35),
            ),
            start=runtime.start,
            stop=runtime.stop,
        )
    ]

"""The command domain as the IOC's plugin: incidents, their SOPs, correlation and due times."""

from __future__ import annotations

from pathlib import Path

import typer

from taydo.core.plugins import Domain, NavItem, hookimpl
from taydo.incidents import api, cli, pages, runtime
from taydo.web.i18n import N_

HERE = Path(__file__).parent


def _cli(root: typer.Typer) -> None:
    root.add_typer(cli.incidents_app, name="incidents")


@hookimpl
def taydo_domains() -> list[Domain]:
    return [
        Domain(
            name="incidents",
            requires=("auth", "geo", "catalog", "alerts"),
            routers=(api.router, pages.router),
            cli=_cli,
            migrations=HERE / "migrations",
            templates=HERE / "templates",
            navigation=(
                NavItem("incidents", "/incidents", N_("Sự cố"), "incidents:read", order=25),
            ),
            start=runtime.start,
            stop=runtime.stop,
        )
    ]

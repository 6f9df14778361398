"""Citizen field reports as the IOC's plugin: Open311 GeoReport v2, the public report form and
status page, the operators' queue, reminders to agencies."""

from __future__ import annotations

from pathlib import Path

import typer

from taydo.citizen import api, cli, open311, pages, runtime
from taydo.core.plugins import Domain, NavItem, hookimpl
from taydo.web.i18n import N_

HERE = Path(__file__).parent


def _cli(root: typer.Typer) -> None:
    root.add_typer(cli.citizen_app, name="citizen")


@hookimpl
def taydo_domains() -> list[Domain]:
    return [
        Domain(
            name="citizen",
            requires=("auth", "geo", "catalog", "alerts"),
            # Open311 first: citizens' posts are the busiest public path.
            early_routers=(open311.router,),
            routers=(api.router, pages.router),
            cli=_cli,
            migrations=HERE / "migrations",
            templates=HERE / "templates",
            navigation=(
                NavItem("citizen", "/citizen/reports", N_("Phản ánh"), "citizen:read", order=27),
            ),
            setup=runtime.setup,
            start=runtime.start,
            stop=runtime.stop,
        )
    ]

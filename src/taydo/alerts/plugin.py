"""The early-warning domain as the IOC's plugin: alert episodes and their lifecycle, silences,
notifications and routing, the live stream and CAP."""

from __future__ import annotations

from pathlib import Path

import typer

from taydo.alerts import api, cli, pages, runtime
from taydo.core.plugins import Domain, NavItem, hookimpl
from taydo.web.i18n import N_

HERE = Path(__file__).parent


def _cli(root: typer.Typer) -> None:
    root.add_typer(cli.alerts_app, name="alerts")


@hookimpl
def taydo_domains() -> list[Domain]:
    return [
        Domain(
            name="alerts",
            requires=("auth", "geo", "catalog", "observations", "rules"),
            routers=(api.router, pages.router),
            cli=_cli,
            migrations=HERE / "migrations",
            templates=HERE / "templates",
            navigation=(NavItem("alerts", "/alerts", N_("Cảnh báo"), "alerts:read", order=20),),
            start=runtime.start,
            stop=runtime.stop,
        )
    ]

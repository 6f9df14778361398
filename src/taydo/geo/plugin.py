"""The geography domain as the IOC's plugin: administrative units and their boundaries."""

from __future__ import annotations

from pathlib import Path

import typer

from taydo.core.plugins import Domain, hookimpl
from taydo.geo import api, cli

HERE = Path(__file__).parent


def _cli(root: typer.Typer) -> None:
    root.add_typer(cli.app, name="geo")


@hookimpl
def taydo_domains() -> list[Domain]:
    return [Domain(name="geo", routers=(api.router,), cli=_cli, migrations=HERE / "migrations")]

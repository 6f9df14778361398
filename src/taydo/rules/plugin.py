"""The rules domain as the IOC's plugin: rule kinds, their definitions and evaluation state."""

from __future__ import annotations

from pathlib import Path

import typer

from taydo.core.plugins import Domain, hookimpl
from taydo.rules import api, cli

HERE = Path(__file__).parent


def _cli(root: typer.Typer) -> None:
    root.add_typer(cli.app, name="rules")


@hookimpl
def taydo_domains() -> list[Domain]:
    return [
        Domain(
            name="rules",
            requires=("auth", "catalog"),
            routers=(api.router,),
            cli=_cli,
            migrations=HERE / "migrations",
        )
    ]

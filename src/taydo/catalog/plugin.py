"""The catalog domain as the IOC's plugin: agencies, datasets, entities, metrics."""

from __future__ import annotations

from pathlib import Path

from taydo.catalog import api, cli
from taydo.core.plugins import Domain, hookimpl

HERE = Path(__file__).parent


@hookimpl
def taydo_domains() -> list[Domain]:
    return [
        Domain(
            name="catalog",
            requires=("auth", "geo"),
            routers=(api.router, api.areas_router),
            cli=cli.register,  # ``taydo geo import``: boundaries re-place entities
            migrations=HERE / "migrations",
        )
    ]

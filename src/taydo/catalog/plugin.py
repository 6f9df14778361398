"""The catalog domain as the IOC's plugin: agencies, datasets, entities, metrics."""

from __future__ import annotations

import asyncio
from pathlib import Path

from taydo.catalog import api, cli
from taydo.catalog.service.labels import words_of
from taydo.core.plugins import Domain, hookimpl
from taydo.core.runtime import Runtime
from taydo.web.words import Vocabulary

HERE = Path(__file__).parent


def _setup(runtime: Runtime) -> None:
    """The console's words for codes (``word(...)`` in every template)."""
    runtime.provide(Vocabulary(lambda: words_of(runtime.db, runtime.plugins)))


async def _start(runtime: Runtime) -> None:
    """Read the words once now (packs' labels, tables' names), not during a page."""
    await asyncio.to_thread(words_of, runtime.db, runtime.plugins)


@hookimpl
def taydo_domains() -> list[Domain]:
    return [
        Domain(
            name="catalog",
            requires=("auth", "geo"),
            routers=(api.router, api.areas_router),
            cli=cli.register,  # ``taydo geo import``: boundaries re-place entities
            migrations=HERE / "migrations",
            setup=_setup,
            start=_start,
        )
    ]

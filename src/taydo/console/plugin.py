"""The console's cross-domain screens as the IOC's plugin: overview, wall, areas, stations."""

from __future__ import annotations

from pathlib import Path

from taydo.console import mapview, pages
from taydo.console.overview import EntityCache
from taydo.core.plugins import Domain, NavItem, hookimpl
from taydo.core.runtime import Runtime
from taydo.web.i18n import N_

HERE = Path(__file__).parent


def _setup(runtime: Runtime) -> None:
    runtime.provide(EntityCache(runtime.db))  # the overview's in-memory catalog part


@hookimpl
def taydo_domains() -> list[Domain]:
    return [
        Domain(
            name="console",
            requires=("alerts", "ingest"),
            routers=(pages.router, mapview.router),
            templates=HERE / "templates",
            navigation=(
                NavItem("overview", "/", N_("Tổng quan"), "catalog:read", order=10),
                NavItem("areas", "/areas", N_("Địa bàn"), "catalog:read", order=30),
            ),
            setup=_setup,
        )
    ]

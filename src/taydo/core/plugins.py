"""The plugin manager (pluggy, entry-point group ``taydo``).

Built-in parts register through the same entry points a third party would use. Every hook is
documented in ``docs/plugins.md``; a test fails when one is not. A hook exists only when
something real uses it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter

    from taydo.core.runtime import Runtime

__all__ = [
    "PROJECT",
    "Domain",
    "NavItem",
    "Pack",
    "domains",
    "hookimpl",
    "hookspec",
    "make_plugin_manager",
    "packs",
]

PROJECT = "taydo"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class Pack:
    """A reference-data pack: a folder of YAML files (agencies, datasets, stations, …)."""

    name: str
    title: str
    data_dir: Path


@dataclass(frozen=True)
class NavItem:
    """An entry of the console's navigation, shown to roles holding ``permission``."""

    key: str
    path: str
    label: str  # Vietnamese msgid (``N_``), translated when shown
    permission: str
    order: int  # position in the navigation bar, lowest first


RuntimeStep = Callable[["Runtime"], Awaitable[None]]


@dataclass(frozen=True)
class Domain:
    """What one domain contributes to the IOC; the composition root (``taydo.app``) reads
    these and names no module itself.

    Start-up runs in two phases so that nothing arrives before its consumers listen: every
    domain's ``start`` (lowest domains first: writer, series index, alert engine …), then
    every domain's ``open`` (the doors to the outside: MQTT subscriptions, pull connectors).
    Shutdown runs ``stop`` in the reverse order.
    """

    name: str
    requires: tuple[str, ...] = ()  # domains that must be set up and started before this one
    routers: Sequence[APIRouter] = ()  # REST API and console pages alike
    # Routers matched before every other domain's (the app tries routes in order, so a busy
    # public path placed early is not matched against dozens of routers first); their paths
    # must not overlap another router's.
    early_routers: Sequence[APIRouter] = ()
    cli: Callable[[typer.Typer], None] | None = None  # adds the domain's commands
    migrations: Path | None = None  # the domain's Alembic version folder
    templates: Path | None = None  # the domain's console templates (``templates/<domain>/``)
    navigation: tuple[NavItem, ...] = ()
    setup: Callable[[Runtime], None] | None = None  # when the app is built (cheap, no I/O)
    start: RuntimeStep | None = None
    open: RuntimeStep | None = None
    stop: RuntimeStep | None = None


class Hooks:
    @hookspec
    def taydo_domains(self) -> list[Domain]:  # type: ignore[empty-body]
        """The domains this plugin provides (routers, pages, commands, migrations, runtime)."""

    @hookspec
    def taydo_packs(self) -> list[Pack]:  # type: ignore[empty-body]
        """Reference-data packs this plugin provides."""

    @hookspec
    def register_connectors(self) -> list[Any]:  # type: ignore[empty-body]
        """Pull-connector kinds (``taydo.ingest.connectors.base.ConnectorKind``) provided."""


def make_plugin_manager(*, load_entry_points: bool = True) -> pluggy.PluginManager:
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(Hooks)
    if load_entry_points:
        manager.load_setuptools_entrypoints(PROJECT)
    return manager


def packs(manager: pluggy.PluginManager) -> dict[str, Pack]:
    found: dict[str, Pack] = {}
    for group in manager.hook.taydo_packs():
        for pack in group:
            found[pack.name] = pack
    return found


def domains(manager: pluggy.PluginManager) -> list[Domain]:
    """Every registered domain, each after the domains it ``requires`` (ties by name)."""
    found: dict[str, Domain] = {}
    for group in manager.hook.taydo_domains():
        for domain in group:
            if domain.name in found:
                raise ValueError(f"two plugins provide the domain {domain.name!r}")
            found[domain.name] = domain
    ordered: list[Domain] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def place(name: str, wanted_by: str) -> None:
        if name in placed:
            return
        if name not in found:
            raise ValueError(f"domain {wanted_by!r} requires {name!r}, which is not installed")
        if name in visiting:
            raise ValueError(f"domains require each other in a circle through {name!r}")
        visiting.add(name)
        for needed in sorted(found[name].requires):
            place(needed, name)
        visiting.discard(name)
        placed.add(name)
        ordered.append(found[name])

    for name in sorted(found):
        place(name, name)
    return ordered

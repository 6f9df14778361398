"""The plugin manager (pluggy, entry-point group ``taydo``).

Built-in parts register through the same entry points a third party would use. Every hook is
documented in ``docs/plugins.md``; a test fails when one is not. A hook exists only when
something real uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pluggy

__all__ = ["PROJECT", "Pack", "hookimpl", "hookspec", "make_plugin_manager"]

PROJECT = "taydo"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class Pack:
    """A reference-data pack: a folder of YAML files (agencies, datasets, stations, …)."""

    name: str
    title: str
    data_dir: Path


class Hooks:
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

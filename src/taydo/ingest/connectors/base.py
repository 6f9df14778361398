"""What a connector kind is, and how the kinds are found (plugin hook ``register_connectors``).

A kind is a small declaration — a name, a pydantic model of its parameters, and a ``fetch``
function — not a class hierarchy. ``fetch(config, secret, watermark)`` returns records
``{entity, metric, ts, value}`` newer than the watermark and the new watermark; the runner does
the rest (entity lookup, validation, commit, quarantine, status), the same for every kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy
from pydantic import BaseModel

__all__ = ["ConnectorKind", "Fetched", "dotted", "kinds"]


@dataclass
class Fetched:
    records: list[dict[str, Any]] = field(default_factory=list)
    watermark: str | None = None  # None: unchanged


@dataclass(frozen=True)
class ConnectorKind:
    name: str
    title: str
    config_model: type[BaseModel]
    fetch: Callable[[Any, str | None, str | None], Fetched]
    secret_help: str = ""


def dotted(data: Any, path: str) -> Any:
    """JSONPath-lite: ``a.b.0.c`` walks objects by key and lists by index; ``$`` or ``""`` is
    the whole document. Missing → ``KeyError`` naming the path."""
    current = data
    if path in ("", "$"):
        return current
    for part in path.removeprefix("$.").split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            try:
                current = current[int(part)]
            except IndexError:
                raise KeyError(path) from None
        else:
            raise KeyError(path)
    return current


def kinds(manager: pluggy.PluginManager) -> dict[str, ConnectorKind]:
    found: dict[str, ConnectorKind] = {}
    for group in manager.hook.register_connectors():
        for kind in group:
            found[kind.name] = kind
    return found

"""The bus backend named by a URL (``TAYDO_BUS_URL``): ``memory://`` or ``nats://``.

Apart from ``taydo.core.bus`` so that the NATS backend, which builds on the bus interface,
is imported only when configured and without an import circle.
"""

from __future__ import annotations

from taydo.core.bus import Bus, MemoryBus

__all__ = ["create_bus"]


def create_bus(url: str) -> Bus:
    if url.startswith("memory://"):
        return MemoryBus()
    if url.startswith("nats://"):
        from taydo.core.bus_nats import NatsBus  # imported only when configured

        return NatsBus(url)
    raise ValueError(f"unknown bus URL scheme: {url!r} (use memory:// or nats://)")

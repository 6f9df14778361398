"""Start/stop bookkeeping for components that may be started more than once.

The same app can be started again on another event loop (nested test clients, embedded
servers): a bus subscription's queue belongs to the running loop, so it moves to the newest
start, while background tasks run once and stop with the last shutdown.

Also the one wait a reader needs from a running component: ``observations_settled`` (the
observation writer applies rollups after answering; see ``taydo.observations.service``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["drop_subscription", "mark_start", "mark_stop", "observations_settled"]


def drop_subscription(app: Any, name: str) -> None:
    """Unsubscribe the bus subscription (or list of them) kept as ``app.state.<name>``."""
    kept = getattr(app.state, name, None)
    if kept is not None:
        for subscription in kept if isinstance(kept, list) else [kept]:
            app.state.bus.unsubscribe(subscription)
        setattr(app.state, name, None)


def mark_start(app: Any, counter: str) -> bool:
    """Count one start; True when it is the first (the one that starts background work)."""
    starts = getattr(app.state, counter, 0)
    setattr(app.state, counter, starts + 1)
    return starts == 0


def mark_stop(app: Any, counter: str) -> bool:
    """Count one shutdown; True when it is the last (the one that stops background work)."""
    left = getattr(app.state, counter, 1) - 1
    setattr(app.state, counter, left)
    return left <= 0


async def observations_settled(app: Any) -> None:
    """Before reading rollups or latest values: wait until the app's observation writer
    (if it has one) has applied everything it has answered (``ObservationWriter.sync``)."""
    writer = getattr(app.state, "writer", None)
    if writer is not None:
        await writer.sync()

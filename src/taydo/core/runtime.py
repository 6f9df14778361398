"""The running IOC, typed: one ``Runtime`` per app instead of loose ``app.state`` attributes.

The core parts every domain may use are fields (settings, database, bus, plugins, secrets,
how a request is authenticated). What a domain builds when it starts (the observation writer,
the series index, the alert engine, the MQTT gateway …) is kept *by type*: the domain that
owns a part ``provide``s it and anyone above reads it with ``get(ThatType)``, so mypy knows
what comes back and the core never names a domain.

Handlers never read the runtime themselves: they take typed ``Annotated`` dependencies
(``taydo.core.deps`` for the core parts, each domain's ``runtime.py`` for its own).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from pluggy import PluginManager

from taydo.core.admission import RequestObserver
from taydo.core.bus import Bus, Subscription
from taydo.core.db import Database
from taydo.core.lease import Leases, LocalLeases
from taydo.core.principal import Authenticator
from taydo.core.secrets import SecretBox
from taydo.core.settings import Settings

__all__ = ["LocalListener", "Runtime", "runtime_of"]

T = TypeVar("T")

# A synchronous, in-process listener: called at once by ``Runtime.announce`` (before the event
# goes out on the bus), for caches that must be current for the very next request.
LocalListener = Callable[[dict[str, Any]], None]


@dataclass(eq=False)
class Runtime:
    settings: Settings
    db: Database
    bus: Bus
    plugins: PluginManager
    secrets: SecretBox
    # Who does what when several processes share the database and bus (taydo.core.lease);
    # one process holds everything by default.
    leases: Leases = field(default_factory=LocalLeases)
    # Set by the identity domain when the app is built (``taydo.auth``); None: nobody logs in.
    authenticate: Authenticator | None = None
    csrf_token: Callable[[Request], str] | None = None
    # Told how every admitted HTTP request ended (``taydo.core.admission``): the metrics'
    # latency by route, the journal of refusals. Called on the event loop: keep them cheap.
    request_observers: list[RequestObserver] = field(default_factory=list)
    _parts: dict[type, Any] = field(default_factory=dict, repr=False)
    _subscriptions: dict[str, list[Subscription]] = field(default_factory=dict, repr=False)
    _starts: Counter[str] = field(default_factory=Counter, repr=False)
    _listeners: dict[str, list[LocalListener]] = field(default_factory=dict, repr=False)
    _on_stopping: list[tuple[Any, Callable[[], None]]] = field(default_factory=list, repr=False)

    # ------------------------------------------------------------------ parts, by type

    def provide(self, part: T, kind: type[T] | None = None) -> T:
        """Keep ``part`` as the runtime's one ``kind`` (its own type by default)."""
        self._parts[kind or type(part)] = part
        return part

    def get(self, kind: type[T]) -> T:
        """The part of that type; a clear error when its domain has not started it."""
        try:
            return self._parts[kind]  # type: ignore[no-any-return]
        except KeyError:
            raise LookupError(
                f"{kind.__qualname__} is not running in this app (is its domain started?)"
            ) from None

    def find(self, kind: type[T]) -> T | None:
        """The part of that type, or None where its domain is absent or not started."""
        return self._parts.get(kind)

    def discard(self, kind: type) -> None:
        self._parts.pop(kind, None)

    # ------------------------------------------------------------------ starting twice

    def first_start(self, key: str) -> bool:
        """Count one start of ``key``; True for the first, the one that starts background work.

        The same app can be started again on another event loop (nested test clients,
        embedded servers): background tasks run once and stop with the last shutdown."""
        self._starts[key] += 1
        return self._starts[key] == 1

    def last_stop(self, key: str) -> bool:
        """Count one stop of ``key``; True for the last (the one that stops background work)."""
        self._starts[key] -= 1
        return self._starts[key] <= 0

    def keep_subscriptions(self, key: str, subscriptions: list[Subscription]) -> None:
        """Keep a domain's bus subscriptions; they move to the newest start's event loop."""
        self.drop_subscriptions(key)
        self._subscriptions[key] = subscriptions

    def drop_subscriptions(self, key: str) -> None:
        for subscription in self._subscriptions.pop(key, []):
            self.bus.unsubscribe(subscription)

    # ------------------------------------------------------------------ stopping

    def when_stopping(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` on the running event loop as soon as a stop is asked for
        (SIGTERM), before the server waits for open responses (live streams end there)."""
        self._on_stopping.append((asyncio.get_running_loop(), callback))

    def stopping(self) -> None:
        """A stop was asked for; safe from a signal handler and from any thread."""
        for loop, callback in self._on_stopping:
            if not loop.is_closed():
                loop.call_soon_threadsafe(callback)

    # ------------------------------------------------------------------ local announcements

    def listen(self, subject: str, listener: LocalListener) -> None:
        """Hear ``announce(subject, …)`` synchronously, in this process."""
        self._listeners.setdefault(subject, []).append(listener)

    def unlisten(self, subject: str, listener: LocalListener) -> None:
        """Stop hearing ``subject`` (a stopped part must not answer for its successor)."""
        heard = self._listeners.get(subject, [])
        if listener in heard:
            heard.remove(listener)

    async def announce(self, subject: str, data: dict[str, Any]) -> None:
        """Tell this process's listeners at once (they may add to ``data``), then publish
        ``data`` on the bus for every other subscriber and process."""
        for listener in self._listeners.get(subject, ()):
            listener(data)
        await self.bus.publish(subject, data)


def runtime_of(app: FastAPI | Any) -> Runtime:
    """The runtime of an app built by ``taydo.app.create_app`` (the one place that reads
    ``app.state``)."""
    runtime = getattr(app.state, "runtime", None)
    if not isinstance(runtime, Runtime):
        raise LookupError("this app has no taydo Runtime: build it with taydo.app.create_app")
    return runtime

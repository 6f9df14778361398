"""The demo's notification inbox: where the demo's alert routes deliver.

The Cần Thơ pack's routes name channels (``ioc-webhook``, ``kttv-email``, …) that a real
deployment creates with its own addresses and secrets. The demo has neither, and a route to a
missing channel dead-letters every notification with a warning — which made a fresh demo look
broken. So the demo creates each missing channel as a signed webhook to this inbox, a route of
the demo's own server, which shows each notification as one line in the demo's terminal:
the whole path (rule → alert → route → outbox → delivery) runs, and nothing leaves the machine.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response

from taydo.alerts.notify import SIGNATURE_HEADER, sign
from taydo.alerts.routing import ChannelIn, list_channels, list_routes, save_channel
from taydo.core.access import public
from taydo.core.db import Database

__all__ = ["PATH", "DemoInbox", "demo_channels"]

PATH = "/demo/inbox/{channel}"
MARK = "demo_inbox"  # in a channel's config: created by the demo, so the demo may update it


def demo_channels(database: Database, base_url: str, secret: str) -> list[str]:
    """Create every channel the routes name but nobody created, as a webhook to the inbox;
    point the ones an earlier demo run created at this run's address. A channel someone else
    created (a real webhook or mailbox on the demo database) is left as it is. Returns the
    codes written."""
    routes = list_routes(database)
    named = {code for route in routes for code in route["missing_channels"]}
    named |= {c["code"] for c in list_channels(database) if c["config"].get(MARK)}
    for code in sorted(named):
        # Named by who it stands for (the routes' names): the alert page shows a channel's
        # name to the operator, not its code.
        users = [
            r["name"]
            for r in routes
            if r["name"]
            and (code in r["channels"] or any(code in s["channels"] for s in r["escalation"]))
        ]
        save_channel(
            database,
            ChannelIn(
                code=code,
                kind="webhook",
                name="Hộp thư thử nghiệm" + (f" — {', '.join(users)}" if users else ""),
                config={"url": base_url + PATH.format(channel=code), MARK: True},
                secret=secret,
                max_attempts=3,
            ),
        )
    return sorted(named)


class DemoInbox:
    """The inbox route: checks the channel's signature, then shows the notification."""

    def __init__(self, secret: str, show: Callable[[str], None]) -> None:
        self._secret = secret
        self._show = show

    def mount(self, app: FastAPI) -> None:
        # public(): the server itself calls it; the HMAC signature, not a login, proves that.
        app.add_api_route(
            PATH,
            self.receive,
            methods=["POST"],
            dependencies=[public()],
            include_in_schema=False,
        )

    async def receive(self, channel: str, request: Request) -> Response:
        body = await request.body()
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(given, sign(self._secret, body)):
            return Response(status_code=403)
        payload: dict[str, Any] = orjson.loads(body)
        self._show(describe(channel, payload))
        return Response(status_code=204)


def describe(channel: str, payload: dict[str, Any]) -> str:
    """One line for a notification: channel, event, severity, title (of an alert, or of a
    message to an agency: an incident's step, a directive, a citizen report)."""
    alert = payload.get("alert") or payload.get("message") or {}
    event = payload.get("event", "?")
    step = f" (bậc / step {payload['step']})" if "step" in payload else ""
    return (
        f"Thông báo / notification → {channel}: {event}{step} · {alert.get('severity', '?')} · "
        f"{alert.get('title', '')}"
    )

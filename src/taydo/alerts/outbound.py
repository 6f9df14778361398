"""JSON POSTs to a URL the caller names, through the notification outbox.

A domain above alerts that must push JSON to its own receivers (NGSI-LD subscriptions) queues
them here rather than running a delivery loop of its own: the rows go through the same
``Notifier`` as the alert webhooks — persisted in the caller's transaction, claimed by one
process, one queue per ``queue`` name (so one slow receiver delays only itself), retried with
exponential back-off, dead-lettered after ``max_attempts`` and sent again from the outbox API.

What must not be stored in the outbox (a receiver's credentials) is asked of the domain when
the row is sent, through the ``Target`` it registered for its ``kind``; the same ``Target``
hears each outcome in the transaction that records it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from taydo.alerts.models import Outbox
from taydo.core import clock

__all__ = ["POST_KEY", "Outcome", "Post", "Target", "enqueue_post", "enqueue_posts"]

POST_KEY = "post"  # the payload key that marks a direct POST (no channel row)
QUEUE_MAX = 80  # the outbox's channel column
EVENT_MAX = 24


@dataclass(frozen=True, slots=True)
class Outcome:
    """One try of a direct POST, as its ``Target`` hears it."""

    ref: str  # what the caller named when it queued the row (a subscription id)
    ok: bool
    error: str | None
    at: datetime
    dead: bool  # no more tries: dead-lettered


@dataclass(frozen=True)
class Target:
    """A kind of direct POST: ``headers(ref)`` gives the headers kept out of the outbox, read
    when the row is sent (None: the ref is gone, the row is dead-lettered with that reason);
    ``finished(session, outcome)`` runs in the transaction that records each try; if given,
    ``finished_many(session, outcomes)`` is called instead with all the tries one transaction
    records (a busy receiver's batch), so the target can record them in a few statements."""

    headers: Callable[[str], dict[str, str] | None]
    finished: Callable[[Session, Outcome], None]
    finished_many: Callable[[Session, list[Outcome]], None] | None = None
    # ``send(ref, url, body, headers)`` delivers URLs that are not http(s) (an MQTT topic);
    # raising is a failed try, retried like a failed POST.
    send: Callable[[str, str, Any, dict[str, str]], Awaitable[None]] | None = None


@dataclass(frozen=True, slots=True)
class Post:
    """One JSON POST to queue (``enqueue_posts``); the fields as ``enqueue_post`` takes them."""

    kind: str
    ref: str
    queue: str
    url: str
    body: Any
    headers: dict[str, str]
    event: str
    max_attempts: int = 5


def _row(post: Post, now: datetime) -> dict[str, Any]:
    return {
        "alert_id": None,
        "channel_code": post.queue[:QUEUE_MAX],
        "event": post.event[:EVENT_MAX],
        "payload": {
            POST_KEY: {
                "kind": post.kind,
                "ref": post.ref,
                "url": post.url,
                "headers": post.headers,
                "max_attempts": max(1, post.max_attempts),
            },
            "body": post.body,
        },
        "status": "pending",
        "attempts": 0,
        "last_error": "",
        "next_at": now,
        "created_at": now,
    }


def enqueue_post(
    session: Session,
    *,
    kind: str,
    ref: str,
    queue: str,
    url: str,
    body: Any,
    headers: dict[str, str],
    event: str,
    max_attempts: int = 5,
) -> None:
    """Queue one JSON POST of ``body`` to ``url`` in the caller's transaction; ``queue`` names
    the per-receiver queue it waits in (rows of one queue go out in order, one at a time)."""
    post = Post(kind, ref, queue, url, body, headers, event, max_attempts)
    session.add(Outbox(**_row(post, clock.now())))


def enqueue_posts(session: Session, posts: list[Post]) -> None:
    """Queue many POSTs in the caller's transaction, in one INSERT run as an executemany
    (a fan-out queues hundreds per committed batch: no ORM object and flush per row); in the
    order given, which is the order each queue sends them in."""
    if posts:
        now = clock.now()
        table = cast(Table, Outbox.__table__)
        session.execute(insert(table), [_row(post, now) for post in posts])

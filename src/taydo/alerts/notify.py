"""Delivery workers for the persisted outbox: webhook (HMAC-SHA256 signed JSON POST) and email.

Each channel has its own worker task, so a receiver that is down, slow (30 s) or answering 500
only delays its own queue: never ingest (the engine only writes outbox rows) and never other
channels. Failures retry with exponential backoff; after ``max_attempts`` a row is dead-lettered
(status ``dead``, kept with its last error). A timer re-notifies unacknowledged alerts and walks
each route's escalation chain.

In a cluster every process sends, but a row is *claimed* before it is sent (``claimed_by``,
``claimed_until``; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so each delivery goes out from one
process; a claim is renewed while the row waits in its channel's queue, and a sender that dies
mid-send leaves a claim that expires, after which another process sends it again, once. The
re-notification clock is a lease (``notify.clock``): one process runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import smtplib
import time
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import orjson
from sqlalchemy import or_, select, update

from taydo.alerts.http1 import Pool, proxied
from taydo.alerts.models import Alert, Channel, Outbox
from taydo.alerts.outbound import POST_KEY, Outcome, Target
from taydo.alerts.routing import enqueue, matching_routes
from taydo.alerts.service.common import alert_dict, aware
from taydo.catalog.service import get_agency
from taydo.core import clock
from taydo.core.db import Database
from taydo.core.errors import NotFound
from taydo.core.lease import Leases, LocalLeases
from taydo.geo.service import area_name_in

__all__ = ["CLOCK_DUTY", "Attachment", "Names", "Notifier", "names_of", "send_email", "sign"]

CLOCK_DUTY = "notify.clock"
WORK_BATCH = 50  # deliveries of one queue read and recorded in one transaction each
# One try to record: outbox id, the error (None: sent), the channel's max attempts, and the
# direct POST's details (None: a channel's delivery).
Result = tuple[int, str | None, int, dict[str, Any] | None]

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Taydo-Signature"


def sign(secret: str, body: bytes) -> str:
    """The signature header value: ``sha256=<hex HMAC of the raw body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# A notification's event in words (Vietnamese, English): the reader of an e-mail is a person.
_EVENTS: dict[str, tuple[str, str]] = {
    "fired": ("Bắt đầu cảnh báo", "Alert started"),
    "escalated": ("Tăng mức", "Escalated"),
    "resolved": ("Kết thúc", "Resolved"),
    "renotify": ("Nhắc lại", "Reminder"),
    "escalation": ("Chuyển cấp trên", "Escalated to the next level"),
}


def _both(alert: dict[str, Any], key: str) -> str:
    """A choice's label in both languages ("Nguy hiểm / Danger"); the code if it has none."""
    label = alert.get(f"{key}_label")
    if isinstance(label, dict) and label.get("vi"):
        return f"{label['vi']} / {label.get('en') or label['vi']}"
    return str(alert.get(key) or "—")


@dataclass(frozen=True)
class Names:
    """An area's and an agency's names for an e-mail, read when it is written (None: none)."""

    area: str | None = None
    agency: str | None = None


def names_of(database: Database, area_code: str | None, agency_code: str | None) -> Names:
    """The names of the area and the agency a notification is about, through the geography's
    and the catalog's services."""
    area = agency = None
    if area_code:
        with database.session() as session:
            area = area_name_in(session, str(area_code))
    if agency_code:
        try:
            agency = get_agency(database, str(agency_code))["name"]
        except NotFound:
            agency = None
    return Names(area, agency)


def _named(name: str | None, code: str | None) -> str:
    """A name with its code ("Phường Cái Khế (31117)"); the code alone when nothing names
    it; "—" for no code."""
    if not code:
        return "—"
    return f"{name} ({code})" if name else str(code)


def _where(payload: dict[str, Any], names: Names) -> str:
    return (
        f"Khu vực / Area: {_named(names.area, payload.get('area_code'))}  "
        f"Cơ quan / Agency: {_named(names.agency, payload.get('agency_code'))}"
    )


def _about(payload: dict[str, Any]) -> dict[str, Any]:
    """The alert or message a notification's payload is about."""
    found = payload["message"] if "message" in payload else payload.get("alert", {})
    return found if isinstance(found, dict) else {}


def _email_text(payload: dict[str, Any], names: Names | None = None) -> tuple[str, str]:
    names = names or Names()
    if "message" in payload:  # not an alert: taydo.alerts.messages
        return _message_text(payload["message"], names)
    alert = payload.get("alert", {})
    event = _EVENTS.get(payload.get("event", ""), (payload.get("event", ""),) * 2)
    subject = f"[Tây Đô] {alert.get('title', '')} ({event[0]})"
    lines = [
        alert.get("title", ""),
        alert.get("title_en", ""),
        "",
        f"Sự kiện / Event: {event[0]} / {event[1]}",
        f"Mức độ / Severity: {_both(alert, 'severity')}",
        f"Trạng thái / State: {_both(alert, 'state')}",
        f"Giá trị / Value: {alert.get('value')}",
        _where(alert, names),
        f"Bắt đầu / Started: {alert.get('started_at')}",
    ]
    return subject[:200], "\n".join(lines)


def _smtp_send(
    config: dict[str, Any], secret: str | None, message: EmailMessage, timeout_s: float
) -> None:
    with smtplib.SMTP(config["host"], int(config.get("port", 25)), timeout=timeout_s) as s:
        if config.get("starttls"):
            s.starttls()
        if config.get("username") and secret:
            s.login(config["username"], secret)
        s.send_message(message)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime: str  # e.g. "application/pdf"


def send_email(
    database: Database,
    channel_code: str,
    *,
    recipients: list[str],
    subject: str,
    text: str,
    attachments: tuple[Attachment, ...] = (),
    timeout_s: float = 10.0,
) -> None:
    """Send one email with attachments through an email channel's SMTP settings (its server,
    sender and credentials), to ``recipients`` rather than the channel's own list: scheduled
    reports use it. Raises on an unknown, disabled or non-email channel and on SMTP errors
    (the caller records them); blocking: call it off the event loop."""
    with database.session() as session:
        channel = session.scalar(select(Channel).where(Channel.code == channel_code))
        if channel is None or channel.kind != "email" or not channel.enabled:
            raise LookupError(f"no enabled email channel {channel_code!r}")
        config, secret = dict(channel.config), channel.secret
    message = EmailMessage()
    message["Subject"] = subject[:200]
    message["From"] = config.get("sender", "taydo@localhost")
    message["To"] = ", ".join(recipients)
    message.set_content(text)
    for item in attachments:
        main, _, sub = item.mime.partition("/")
        message.add_attachment(item.content, maintype=main, subtype=sub, filename=item.filename)
    _smtp_send(config, secret, message, timeout_s)


def _message_text(message: dict[str, Any], names: Names) -> tuple[str, str]:
    subject = f"[Tây Đô] {message.get('title', '')}"
    lines = [
        message.get("title", ""),
        message.get("title_en", ""),
        "",
        message.get("body", ""),
        "",
        _where(message, names),
        f"Xem / View: {message.get('link') or '—'}",
    ]
    return subject[:200], "\n".join(lines)


class Notifier:
    def __init__(
        self,
        database: Database,
        *,
        timeout_s: float = 10.0,
        backoff_s: float = 5.0,
        poll_s: float = 1.0,
        check_s: float = 30.0,
        leases: Leases | None = None,
    ) -> None:
        self.database = database
        self.leases = leases or LocalLeases()
        self.member = self.leases.member
        # Long enough for a delivery's wait in its queue between two renewals and its send.
        self.claim_s = 2 * timeout_s + 5
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self.poll_s = poll_s
        self.check_s = check_s
        self._wake = asyncio.Event()
        self._queues: dict[str, asyncio.Queue[int]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._in_flight: set[int] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None
        self._pool = Pool(timeout_s)  # direct POSTs: many small ones, kept-alive connections
        self._targets: dict[str, Target] = {}

    def target(self, kind: str, target: Target) -> None:
        """Send the direct POSTs of ``kind`` (``taydo.alerts.outbound.enqueue_post``)."""
        self._targets[kind] = target

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.timeout_s)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._dispatch(), name="notify:dispatch")]
        self._clock: asyncio.Task[None] | None = None
        await self.leases.duty(CLOCK_DUTY, self._clock_gained, self._clock_lost)

    async def _clock_gained(self) -> None:
        self._clock = asyncio.get_running_loop().create_task(
            self._renotify_loop(), name="notify:renotify"
        )

    async def _clock_lost(self) -> None:
        if self._clock is not None:
            self._clock.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock
            self._clock = None

    async def close(self) -> None:
        await self.leases.drop_duty(CLOCK_DUTY)
        tasks = self._tasks + list(self._workers.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()
        await self._pool.aclose()

    def wake(self) -> None:
        self._wake.set()

    # -- dispatching ------------------------------------------------------------------------
    def _due(self) -> list[tuple[int, str]]:
        """Claim the deliveries that are due and free (or already this process's: their
        claims are renewed), at most 500; returns them."""
        now = clock.now()
        due = (
            Outbox.status == "pending",
            Outbox.next_at <= now,
            or_(
                Outbox.claimed_until.is_(None),
                Outbox.claimed_until < now,
                Outbox.claimed_by == self.member,
            ),
        )
        free = select(Outbox.id).where(*due).order_by(Outbox.id).limit(500)
        if self.database.dialect == "postgresql":
            free = free.with_for_update(skip_locked=True)  # rows a peer is claiming: skipped
        claim = (
            update(Outbox)
            .where(Outbox.id.in_(free.scalar_subquery()))
            .values(claimed_by=self.member, claimed_until=now + timedelta(seconds=self.claim_s))
            .returning(Outbox.id, Outbox.channel_code)
            .execution_options(synchronize_session=False)
        )
        with self.database.session() as session:
            # Read first: an idle outbox costs no write (on SQLite, no write lock every poll).
            if session.scalar(select(Outbox.id).where(*due).limit(1)) is None:
                return []
            rows = session.execute(claim).all()
        return sorted((row[0], row[1]) for row in rows)

    async def _dispatch(self) -> None:
        while True:
            try:
                for outbox_id, channel in await asyncio.to_thread(self._due):
                    if outbox_id in self._in_flight:
                        continue
                    self._in_flight.add(outbox_id)
                    self._queue(channel).put_nowait(outbox_id)
            except Exception:
                log.exception("notification dispatch failed")
            self._wake.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 a cancellation that arrives as the
            # event is set can be lost inside wait_for, and the stopping server then waited
            # for this task forever (seen: a stop right after an alert's wake()).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_s):
                    await self._wake.wait()

    def _queue(self, channel: str) -> asyncio.Queue[int]:
        queue = self._queues.get(channel)
        if queue is None:
            queue = self._queues[channel] = asyncio.Queue()
            self._workers[channel] = asyncio.get_running_loop().create_task(
                self._work(queue), name=f"notify:{channel}"
            )
        return queue

    async def _work(self, queue: asyncio.Queue[int]) -> None:
        """One channel's (or receiver's) deliveries, in order: what waits in its queue is
        read in one transaction and recorded in one (a busy receiver costs two transactions a
        batch, not two a delivery); the batch stops at its first failure and at half the claim
        time, and what it did not send goes back to the dispatcher, still claimed."""
        while True:
            ids = [await queue.get()]
            while len(ids) < WORK_BATCH and not queue.empty():
                ids.append(queue.get_nowait())
            try:
                await self._deliver_many(ids)
            except Exception:
                log.exception("deliveries %s failed unexpectedly", ids)
            finally:
                for outbox_id in ids:
                    self._in_flight.discard(outbox_id)

    def _load_many(self, ids: list[int]) -> list[tuple[int, dict[str, Any], dict[str, Any]]]:
        """The rows of ``ids`` still this process's to send, in one SELECT (not one a row)."""
        with self.database.session() as session:
            rows = {
                row.id: row for row in session.scalars(select(Outbox).where(Outbox.id.in_(ids)))
            }
            channels: dict[str, Channel | None] = {}
            loaded = [(i, self._load_row(session, i, rows.get(i), channels)) for i in ids]
        return [(i, found[0], found[1]) for i, found in loaded if found is not None]

    def _load_row(
        self,
        session: Any,
        outbox_id: int,
        row: Outbox | None,
        channels: dict[str, Channel | None],
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        if row is None or row.status != "pending" or row.claimed_by != self.member:
            return None  # sent, or taken over by another process after a lapsed claim
        job = {
            "id": row.id,
            "event": row.event,
            "payload": row.payload,
            "attempts": row.attempts,
        }
        post = row.payload.get(POST_KEY) if isinstance(row.payload, dict) else None
        if post is not None:
            if str(post.get("kind")) not in self._targets:
                # Its domain has not started here yet (or is not installed): kept pending,
                # picked up again at the next dispatch, never dead-lettered for it.
                return None
            return job, self._post_target(post)
        if row.channel_code not in channels:
            channels[row.channel_code] = session.scalar(
                select(Channel).where(Channel.code == row.channel_code)
            )
        channel = channels[row.channel_code]
        if channel is None or not channel.enabled:
            return job, {}
        return job, {
            "kind": channel.kind,
            "config": dict(channel.config),
            "secret": channel.secret,
            "max_attempts": channel.max_attempts,
        }

    def _post_target(self, post: dict[str, Any]) -> dict[str, Any]:
        """A direct POST's sending details, with the headers its target keeps out of the
        outbox (read now: a receiver's credentials changed meanwhile are the new ones)."""
        target = self._targets[str(post.get("kind"))]
        extra = target.headers(str(post.get("ref")))
        return {
            "kind": POST_KEY,
            "gone": extra is None,
            "headers": {**post.get("headers", {}), **(extra or {})},
            "url": post["url"],
            "max_attempts": int(post.get("max_attempts", 5)),
            "ref": str(post.get("ref")),
            "send": target.send,
        }

    def _finish_many(self, results: list[Result]) -> None:
        """Record tries in one transaction, with what each direct POST's target records of
        them. The tries that succeeded (nearly all, on a busy outbox) are recorded by one
        UPDATE and told to their target in one call, not a statement (and a flush) each."""
        now = clock.now()
        outcomes: dict[str, list[Outcome]] = {}

        def tell(post: dict[str, Any] | None, outcome: Outcome) -> None:
            if post is not None and str(post.get("kind")) in self._targets:
                outcomes.setdefault(str(post.get("kind")), []).append(outcome)

        with self.database.session() as session:
            sent = [r for r in results if r[1] is None]
            if sent:
                done = set(
                    session.scalars(
                        update(Outbox)
                        .where(Outbox.id.in_([r[0] for r in sent]))
                        .values(
                            status="sent",
                            sent_at=now,
                            last_error="",
                            attempts=Outbox.attempts + 1,
                            claimed_by=None,
                            claimed_until=None,
                        )
                        .returning(Outbox.id)
                        .execution_options(synchronize_session=False)
                    )
                )
                for outbox_id, _error, _max, post in sent:
                    if outbox_id in done and post is not None:
                        tell(post, Outcome(str(post.get("ref")), True, None, now, False))
            for outbox_id, error, max_attempts, post in results:
                if error is None:
                    continue
                row = session.get(Outbox, outbox_id)
                if row is None:
                    continue
                self._finish_row(row, error, max_attempts, now)
                if post is not None:
                    dead = row.status == "dead"
                    tell(post, Outcome(str(post.get("ref")), False, error, now, dead))
            for kind, told in outcomes.items():
                target = self._targets[kind]
                if target.finished_many is not None:
                    target.finished_many(session, told)
                else:
                    for outcome in told:
                        target.finished(session, outcome)

    def _finish_row(self, row: Outbox, error: str | None, max_attempts: int, now: Any) -> None:
        """Record one try of ``row``: sent, retried later with back-off, or dead."""
        row.claimed_by, row.claimed_until = None, None
        row.attempts += 1
        if error is None:
            row.status, row.sent_at, row.last_error = "sent", now, ""
            return
        row.last_error = error[:1000]
        if row.attempts >= max_attempts:
            row.status = "dead"  # dead letter: kept, visible, never retried by itself
            log.warning(
                "notification %s to channel %s dead-lettered after %s tries: %s "
                "(send it again: POST /api/v1/notify/outbox/retry)",
                row.id,
                row.channel_code,
                row.attempts,
                row.last_error,
            )
        else:
            delay = min(self.backoff_s * 2 ** (row.attempts - 1), 3600.0)
            row.next_at = now + timedelta(seconds=delay)

    async def _deliver_many(self, ids: list[int]) -> None:
        loaded = await asyncio.to_thread(self._load_many, ids)
        until = time.monotonic() + self.claim_s / 2  # the claims stay good well past this
        results: list[Result] = []
        for outbox_id, job, channel in loaded:
            payload = job["payload"]
            post = payload.get(POST_KEY) if isinstance(payload, dict) else None
            if not channel:
                results.append((outbox_id, "kênh không có / no such channel", 1, post))
                continue
            if time.monotonic() > until:
                break  # the rest go back to the dispatcher, still claimed
            error = await self._send(job, channel)
            results.append((outbox_id, error, channel["max_attempts"], post))
            if error is not None:
                break  # the receiver fails: the others wait for its next try
        if results:
            await asyncio.to_thread(self._finish_many, results)

    async def _send(self, job: dict[str, Any], channel: dict[str, Any]) -> str | None:
        """One try; the error, or None once the receiver took it."""
        try:
            if channel["kind"] == POST_KEY:
                await self._post(job, channel)
            elif channel["kind"] == "webhook":
                await self._webhook(job, channel)
            else:
                await asyncio.to_thread(self._email, job, channel)
        except Exception as exc:  # the error text never includes the secret
            return f"{type(exc).__name__}: {exc}"
        return None

    async def _webhook(self, job: dict[str, Any], channel: dict[str, Any]) -> None:
        assert self._client is not None
        body = orjson.dumps(job["payload"])
        headers = {
            "Content-Type": "application/json",
            "X-Taydo-Event": str(job["event"]),
            "X-Taydo-Delivery": str(job["id"]),
        }
        if channel["secret"]:
            headers[SIGNATURE_HEADER] = sign(channel["secret"], body)
        response = await self._client.post(channel["config"]["url"], content=body, headers=headers)
        if response.status_code >= 300:
            raise RuntimeError(f"HTTP {response.status_code}")

    async def _post(self, job: dict[str, Any], channel: dict[str, Any]) -> None:
        """A direct POST (``taydo.alerts.outbound``): the body as queued, the headers with
        what the target added at send time."""
        assert self._client is not None
        if channel["gone"]:
            channel["max_attempts"] = 1  # nothing to send it for any more: dead-lettered
            raise LookupError("người nhận đã bị xoá / the receiver's subscription is gone")
        headers = {"Content-Type": "application/json", **channel["headers"]}
        if channel["send"] is not None and not channel["url"].startswith(("http:", "https:")):
            await channel["send"](
                channel["ref"], channel["url"], job["payload"].get("body"), headers
            )
            return
        body = orjson.dumps(job["payload"].get("body"))
        url = channel["url"]
        if proxied(url):
            status = (await self._client.post(url, content=body, headers=headers)).status_code
        else:
            status = await self._pool.post(url, body, headers)
        if status >= 300:
            raise RuntimeError(f"HTTP {status}")

    def _email(self, job: dict[str, Any], channel: dict[str, Any]) -> None:
        config = channel["config"]
        about = _about(job["payload"])
        names = names_of(self.database, about.get("area_code"), about.get("agency_code"))
        subject, text = _email_text(job["payload"], names)
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = config.get("sender", "taydo@localhost")
        recipients = config["to"] if isinstance(config["to"], list) else [config["to"]]
        message["To"] = ", ".join(recipients)
        message.set_content(text)
        _smtp_send(config, channel["secret"], message, self.timeout_s)

    # -- re-notification and escalation --------------------------------------------------------
    def renotify(self) -> int:
        """Queue re-notifications and escalation steps that are due; returns how many."""
        now = clock.now()
        queued = 0
        with self.database.session() as session:
            alerts = session.scalars(
                select(Alert).where(Alert.state == "firing", Alert.silenced.is_(False))
            ).all()
            for alert in alerts:
                started = aware(alert.started_at) or now
                last = aware(alert.last_notified_at) or started
                for route in matching_routes(session, alert):
                    if route.renotify_s and (now - last).total_seconds() >= route.renotify_s:
                        payload: dict[str, Any] = {"event": "renotify", "alert": alert_dict(alert)}
                        queued += enqueue(session, alert, route.channels, "renotify", payload)
                        alert.last_notified_at = now
                    steps = route.escalation or []
                    while alert.escalation_step < len(steps):
                        step = steps[alert.escalation_step]
                        if (now - started).total_seconds() < float(step["after"]):
                            break
                        payload = {
                            "event": "escalation",
                            "step": alert.escalation_step + 1,
                            "alert": alert_dict(alert),
                        }
                        queued += enqueue(session, alert, step["channels"], "escalation", payload)
                        alert.escalation_step += 1
        return queued

    async def _renotify_loop(self) -> None:
        while True:
            await asyncio.sleep(self.check_s)
            try:
                if await asyncio.to_thread(self.renotify):
                    self.wake()
            except Exception:
                log.exception("re-notification check failed")

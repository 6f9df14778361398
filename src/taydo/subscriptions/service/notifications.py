"""From matched changes to notifications in the outbox (§5.3.1 Notification).

A committed batch of observations (or a change of entity attributes) has already been matched
coarsely against the index; here, in a worker thread, each candidate entity is read once,
checked exactly (its type and attribute names in its own context, ``q``, ``geoQ``, the
subscription owner's agency scope), rendered in the subscription's format and context, and
one notification per subscription is queued — all in one transaction. A throttled
subscription is claimed in that transaction (``last_queued_at`` moved on only if its period
has passed), so every process of a cluster keeps the same pace.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, or_, update

from taydo.alerts.outbound import Outcome, Post, enqueue_posts
from taydo.catalog import service as catalog
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.ingest.ngsild.context import CORE_CONTEXT_URL, Context, ContextResolver
from taydo.ingest.ngsild.entity import translate
from taydo.ingest.ngsild.http import JSONLD_REL
from taydo.ingest.ngsild.query import MISSING
from taydo.ingest.ngsild.read import NameMatcher, Stored, geo_matches, render, stored_of
from taydo.subscriptions.models import Subscription
from taydo.subscriptions.service.changes import notification_flag, previous_values
from taydo.subscriptions.service.index import Entry, local_name

__all__ = [
    "KIND",
    "Change",
    "body_and_headers",
    "claim_period",
    "entity_elements",
    "load_entities",
    "notify",
    "record_outcome",
    "record_outcomes",
]

KIND = "ngsi-ld"  # the outbox's direct POSTs of this domain (taydo.alerts.outbound)
EVENT = "ngsild.notification"
CHUNK = 500
_READER = Principal("subscriptions", "admin")  # reads every entity; the owner's scope is checked


@dataclass
class Change:
    """What changed of one entity: observed values by attribute, other attributes by name."""

    entity_id: str
    values: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    attributes: set[str] = field(default_factory=set)

    def names(self) -> set[str]:
        return set(self.values) | self.attributes


def _iso_ms(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def load_entities(
    database: Database, resolver: ContextResolver, ids: list[str]
) -> dict[str, Stored]:
    found: dict[str, Stored] = {}
    for start in range(0, len(ids), CHUNK):
        selection = catalog.EntitySelection(ids=ids[start : start + CHUNK])
        with closing(catalog.entity_records(database, _READER, selection)) as rows:
            for row in rows:
                found[row[0]] = stored_of(row, resolver)
    return found


def _type_matches(entry: Entry, entity: Stored) -> bool:
    if not entry.targets:
        return True
    if entity.context is None:
        local = local_name(entity.type)
        return any(t.type_local == local for t in entry.targets)
    iri = entity.context.expand(entity.type)
    return any(t.type_iri == iri for t in entry.targets)


def _watched(entry: Entry, entity: Stored, names: set[str]) -> bool:
    if entry.watched_iris is None:
        return True
    if entity.context is None:
        return any(local_name(n) in (entry.watched_locals or ()) for n in names)
    return any(entity.context.expand(n) in entry.watched_iris for n in names)


def _getter(entity: Stored, request: Context, overlay: dict[str, float]) -> Callable[[str], Any]:
    def get(name: str) -> Any:
        if entity.context is not None:
            stored = translate(name, request, entity.context)
        else:
            stored = name if name in entity.attributes or name in overlay else ""
            stored = stored or local_name(request.expand(name))
        if stored in overlay:
            return overlay[stored]
        if stored not in entity.attributes or stored.startswith("_"):
            return MISSING
        return entity.attributes[stored]

    return get


def _geo_ok(entry: Entry, entity: Stored) -> bool:
    return entry.geo is None or geo_matches(entity, entry.geo, entry.context)


def _concise(attr: Any) -> Any:
    """§4.5.x concise form: the type is implied by the member that carries the value."""
    if not isinstance(attr, dict) or "type" not in attr:
        return attr
    rest = {k: v for k, v in attr.items() if k != "type"}
    if (
        attr["type"] == "Property"
        and set(rest) == {"value"}
        and not isinstance(rest["value"], dict)
    ):
        return rest["value"]
    if attr["type"] == "GeoProperty" and set(rest) == {"value"}:
        return rest["value"]
    return {k: _concise(v) if isinstance(v, dict) else v for k, v in rest.items()}


def entity_elements(
    entry: Entry,
    entity: Stored,
    change: Change,
    previous: dict[tuple[str, int], float] | None = None,
) -> list[dict[str, Any]]:
    """The entity as the notification shows it: one element per observation time (each
    value observed is told, none folded into a later one), or one for attribute changes;
    ``previous``: with ``showChanges``, the value each observed one replaced."""
    target = entry.context
    matcher = NameMatcher(target, list(entry.attributes)) if entry.attributes else None
    base = render(entity, target, attrs=matcher, sys_attrs=notification_flag(entry, "sysAttrs"))
    times: list[int | None] = [*sorted({ts for pts in change.values.values() for ts, _ in pts})]
    times = times or [None]
    out: list[dict[str, Any]] = []
    for ts in times:
        element = dict(base)
        for metric, points in change.values.items():
            if matcher is not None and not matcher(metric, entity.context):
                continue
            name = translate(metric, entity.context, target)
            for at, value in points:
                if at == ts:
                    attr = dict(element.get(name) or {"type": "Property"})
                    attr["type"] = "Property"
                    attr["value"], attr["observedAt"] = value, _iso_ms(at)
                    attr.pop("previousValue", None)
                    if previous is not None and (metric, at) in previous:
                        attr["previousValue"] = previous[(metric, at)]
                    element[name] = attr
        out.append(element)
    if entry.format == "normalized":
        return out
    if entry.format == "keyValues":
        return [
            {
                k: (v.get("value", v.get("object", v)) if isinstance(v, dict) else v)
                for k, v in e.items()
            }
            for e in out
        ]
    return [{k: _concise(v) for k, v in e.items()} for e in out]


def body_and_headers(
    entry: Entry, data: list[dict[str, Any]], now: datetime
) -> tuple[dict[str, Any], dict[str, str]]:
    body: dict[str, Any] = {
        # Unique, not secret: random bits without a system call per notification.
        "id": f"urn:ngsi-ld:Notification:{uuid.UUID(int=random.getrandbits(128), version=4)}",
        "type": "Notification",
        "subscriptionId": entry.sub_id,
        "notifiedAt": now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "data": data,
    }
    context = entry.context
    if entry.accept == "application/ld+json":
        body["@context"] = context.value if context.value is not None else CORE_CONTEXT_URL
        return body, {"Content-Type": "application/ld+json"}
    link = f'<{context.link_url}>; rel="{JSONLD_REL}"; type="application/ld+json"'
    return body, {"Content-Type": "application/json", "Link": link}


def claim_period(session: Any, entry: Entry, seconds: float, now: datetime) -> bool:
    """Take the subscription's current period of ``seconds`` (its throttling, or its
    ``timeInterval``) if the last one has passed; moves its clock on if so. One UPDATE, so two
    processes never both take the same period."""
    since = now - timedelta(seconds=seconds)
    claimed = session.execute(
        update(Subscription)
        .where(
            Subscription.sub_id == entry.sub_id,
            or_(Subscription.last_queued_at.is_(None), Subscription.last_queued_at <= since),
        )
        .values(last_queued_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount)


def _claim_throttled(session: Any, entry: Entry, now: datetime) -> bool:
    """Whether the subscription may notify now (no throttling, or its period has passed)."""
    return entry.throttling <= 0 or claim_period(session, entry, entry.throttling, now)


def notify(
    database: Database,
    resolver: ContextResolver,
    matched: dict[str, tuple[Entry, dict[str, Change]]],
    *,
    max_attempts: int = 5,
) -> int:
    """Queue the notifications of ``matched`` (subscription id → its entry and the changes
    of the entities it may concern); returns how many were queued. Blocking."""
    ids = sorted({eid for _entry, changes in matched.values() for eid in changes})
    if not ids:
        return 0
    entities = load_entities(database, resolver, ids)
    now = clock.now()
    posts: list[Post] = []
    rendered: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    with database.session() as session:
        for entry, changes in matched.values():
            owner = entry.row.principal()
            data: list[dict[str, Any]] = []
            for entity_id, change in changes.items():
                entity = entities.get(entity_id)
                if entity is None or not owner.may_see_agency(entity.agency_code):
                    continue
                if not _type_matches(entry, entity) or not _watched(entry, entity, change.names()):
                    continue
                if entry.q is not None:
                    overlay = {m: pts[-1][1] for m, pts in change.values.items() if pts}
                    if not entry.q.matches(_getter(entity, entry.context, overlay)):
                        continue
                if not _geo_ok(entry, entity):
                    continue
                # Rendered once per entity, values told, format, attributes, flags and context:
                # many subscriptions to one entity or type share the elements (never mutated).
                show = notification_flag(entry, "showChanges")
                told = tuple((m, tuple(pts)) for m, pts in sorted(change.values.items()))
                flags = (notification_flag(entry, "sysAttrs"), show)
                key = (entity_id, told, entry.format, entry.attributes, flags, id(entry.context))
                elements = rendered.get(key)
                if elements is None:
                    previous = previous_values(database, change) if show else None
                    elements = rendered[key] = entity_elements(entry, entity, change, previous)
                data.extend(elements)
            if not data or not _claim_throttled(session, entry, now):
                continue
            body, headers = body_and_headers(entry, data, now)
            posts.append(
                Post(KIND, entry.sub_id, entry.queue, entry.uri, body, headers, EVENT, max_attempts)
            )
        enqueue_posts(session, posts)
    return len(posts)


def record_outcome(session: Any, outcome: Outcome) -> None:
    """One try of a notification, on its subscription (§5.2.14: timesSent, lastNotification,
    lastSuccess / lastFailure), in the transaction that records the try in the outbox."""
    values: dict[str, Any] = {
        "times_sent": Subscription.times_sent + 1,
        "last_notification": outcome.at,
    }
    if outcome.ok:
        values["last_success"] = outcome.at
    else:
        values["last_failure"] = outcome.at
        values["last_error"] = (outcome.error or "")[:1000]
    session.execute(
        update(Subscription)
        .where(Subscription.sub_id == outcome.ref)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def record_outcomes(session: Any, outcomes: list[Outcome]) -> None:
    """The tries one transaction of the outbox records (a receiver's batch), as
    ``record_outcome`` would record them one by one, in one UPDATE per subscription run as a
    few executemany statements: tries of one subscription add up in ``timesSent``, the
    latest of each kind sets its time."""
    tally: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        tally.setdefault(outcome.ref, []).append(outcome)
    table = cast(Table, Subscription.__table__)
    groups: dict[tuple[bool, bool], list[dict[str, Any]]] = {}
    for ref, tries in tally.items():
        ok = [t.at for t in tries if t.ok]
        failed = [t for t in tries if not t.ok]
        params: dict[str, Any] = {"b_ref": ref, "b_n": len(tries), "b_at": max(t.at for t in tries)}
        if ok:
            params["b_success"] = max(ok)
        if failed:
            last = max(failed, key=lambda t: t.at)
            params["b_failure"], params["b_error"] = last.at, (last.error or "")[:1000]
        groups.setdefault((bool(ok), bool(failed)), []).append(params)
    c = table.c
    for (succeeded, failures), rows in groups.items():
        values: dict[str, Any] = {
            "times_sent": c.times_sent + bindparam("b_n"),
            "last_notification": bindparam("b_at", type_=c.last_notification.type),
        }
        if succeeded:
            values["last_success"] = bindparam("b_success", type_=c.last_success.type)
        if failures:
            values["last_failure"] = bindparam("b_failure", type_=c.last_failure.type)
            values["last_error"] = bindparam("b_error", type_=c.last_error.type)
        session.execute(update(table).where(c.sub_id == bindparam("b_ref")).values(values), rows)

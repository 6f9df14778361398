"""Subscriptions in the database: create, read, list, change, delete, each in the caller's
scope. A subscription belongs to the user who made it; an administrator sees every one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from taydo.auth import journal
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.secrets import SecretBox
from taydo.ingest.ngsild.errors import NgsiError
from taydo.subscriptions.endpoints import masked_uri
from taydo.subscriptions.models import Subscription
from taydo.subscriptions.schemas import SubscriptionSpec, check_subscription, merge_fragment

__all__ = [
    "MASK",
    "Row",
    "create_subscription",
    "delete_subscription",
    "get_subscription",
    "list_subscriptions",
    "load_rows",
    "receiver_headers",
    "render_subscription",
    "update_subscription",
]

MASK = "********"
# receiverInfo keys whose values are credentials: never shown again once stored.
_SECRET_WORDS = ("authorization", "token", "key", "secret", "password", "cookie", "auth")


@dataclass(frozen=True)
class Row:
    """A stored subscription as plain values (what the matching index and the API read)."""

    pk: int
    sub_id: str
    owner: str
    owner_role: str
    owner_agencies: tuple[str, ...]
    document: dict[str, Any]
    context: Any
    receiver: list[dict[str, str]] | None
    is_active: bool
    expires_at: datetime | None
    throttling: float
    times_sent: int
    last_notification: datetime | None
    last_success: datetime | None
    last_failure: datetime | None
    last_error: str
    created_at: datetime
    modified_at: datetime

    def principal(self) -> Principal:
        """Whom the notifications speak to: what the owner may see, no more."""
        return Principal(self.owner, self.owner_role, frozenset(self.owner_agencies))

    def status(self, now: datetime) -> str:
        if self.expires_at is not None and _aware(self.expires_at) <= now:
            return "expired"
        return "active" if self.is_active else "paused"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return _aware(moment).astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _row(sub: Subscription, box: SecretBox | None) -> Row:
    receiver = None
    if sub.receiver_sealed and box is not None:
        receiver = orjson.loads(box.open(sub.receiver_sealed))
    return Row(
        sub.id,
        sub.sub_id,
        sub.owner,
        sub.owner_role,
        tuple(sub.owner_agencies or ()),
        dict(sub.document),
        sub.context,
        receiver,
        sub.is_active,
        sub.expires_at,
        sub.throttling,
        sub.times_sent,
        sub.last_notification,
        sub.last_success,
        sub.last_failure,
        sub.last_error or "",
        sub.created_at,
        sub.modified_at,
    )


def _masked(pairs: list[dict[str, str]]) -> list[dict[str, str]]:
    return [
        {"key": p["key"], "value": MASK}
        if any(word in p["key"].lower() for word in _SECRET_WORDS)
        else dict(p)
        for p in pairs
    ]


def render_subscription(row: Row, *, now: datetime | None = None) -> dict[str, Any]:
    """The subscription as GET answers it (§5.2.12): the client's members, the broker's
    (status, timesSent, lastNotification …) and receiverInfo with credentials masked."""
    now = now or clock.now()
    out: dict[str, Any] = {"id": row.sub_id, **row.document}
    out["id"] = row.sub_id
    out["isActive"] = row.is_active
    out["status"] = row.status(now)
    notification = dict(out.get("notification", {}))
    endpoint = dict(notification.get("endpoint", {}))
    if "uri" in endpoint:
        endpoint["uri"] = masked_uri(endpoint["uri"])
    if row.receiver:
        endpoint["receiverInfo"] = _masked(row.receiver)
    notification["endpoint"] = endpoint
    notification["timesSent"] = row.times_sent
    for key, value in (
        ("lastNotification", row.last_notification),
        ("lastSuccess", row.last_success),
        ("lastFailure", row.last_failure),
    ):
        if value is not None:
            notification[key] = _iso(value)
    if row.times_sent:
        failed = row.last_failure is not None and (
            row.last_success is None or _aware(row.last_failure) > _aware(row.last_success)
        )
        notification["status"] = "failed" if failed else "ok"
    out["notification"] = notification
    out["createdAt"] = _iso(row.created_at)
    out["modifiedAt"] = _iso(row.modified_at)
    return out


def _visible(principal: Principal) -> Any:
    return None if principal.role == "admin" else Subscription.owner == principal.username


def _find(session: Any, principal: Principal, sub_id: str) -> Subscription:
    statement = select(Subscription).where(Subscription.sub_id == sub_id)
    scope = _visible(principal)
    if scope is not None:
        statement = statement.where(scope)
    found = session.scalar(statement)
    if found is None:
        raise NgsiError(
            "ResourceNotFound", f"không có subscription / no subscription {sub_id[:255]}"
        )
    return found


def _apply(sub: Subscription, spec: SubscriptionSpec, box: SecretBox) -> None:
    sub.document = spec.document
    sub.receiver_sealed = (
        box.seal(orjson.dumps(spec.receiver_info).decode()) if spec.receiver_info else None
    )
    sub.is_active = spec.is_active
    sub.expires_at = spec.expires_at
    sub.throttling = spec.throttling


def create_subscription(
    database: Database,
    box: SecretBox,
    principal: Principal,
    spec: SubscriptionSpec,
    context: Any,
    *,
    address: str | None = None,
) -> str:
    """Store a checked subscription; returns its id (the client's, or a new URN)."""
    sub_id = spec.document.get("id") or f"urn:ngsi-ld:Subscription:{uuid.uuid4()}"
    spec.document["id"] = sub_id
    now = clock.now()
    sub = Subscription(
        sub_id=sub_id,
        owner=principal.username,
        owner_role=principal.role,
        owner_agencies=sorted(principal.agencies),
        context=context,
        times_sent=0,
        last_error="",
        created_at=now,
        modified_at=now,
    )
    _apply(sub, spec, box)
    try:
        with database.session() as session:
            if session.scalar(select(Subscription.id).where(Subscription.sub_id == sub_id)):
                raise NgsiError("AlreadyExists", f"subscription {sub_id[:255]} đã có / exists")
            session.add(sub)
            session.flush()
            _journal(session, principal, "subscription.create", sub_id, spec, address)
    except IntegrityError as exc:  # two creations of one id at once
        raise NgsiError("AlreadyExists", f"subscription {sub_id[:255]} đã có / exists") from exc
    return str(sub_id)


def _journal(
    session: Any,
    principal: Principal,
    action: str,
    sub_id: str,
    spec: SubscriptionSpec | None,
    address: str | None,
) -> None:
    summary: dict[str, Any] = {}
    if spec is not None:  # never the receiverInfo (credentials)
        summary = {"uri": spec.uri, "active": spec.is_active, "throttling": spec.throttling}
    journal.record(
        session,
        actor=principal.username,
        action=action,
        object_type="subscription",
        object_id=sub_id[:255],
        summary=summary,
        address=address,
    )


def get_subscription(
    database: Database, box: SecretBox, principal: Principal, sub_id: str
) -> dict[str, Any]:
    with database.session() as session:
        row = _row(_find(session, principal, sub_id), box)
    return render_subscription(row)


def list_subscriptions(
    database: Database, box: SecretBox, principal: Principal, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the caller's subscriptions, oldest first, and how many there are."""
    scope = _visible(principal)
    statement = select(Subscription).order_by(Subscription.id)
    counting = select(func.count()).select_from(Subscription)
    if scope is not None:
        statement, counting = statement.where(scope), counting.where(scope)
    with database.session() as session:
        total = int(session.scalar(counting) or 0)
        rows = [_row(s, box) for s in session.scalars(statement.limit(limit).offset(offset))]
    now = clock.now()
    return [render_subscription(r, now=now) for r in rows], total


def update_subscription(
    database: Database,
    box: SecretBox,
    principal: Principal,
    sub_id: str,
    fragment: Any,
    *,
    address: str | None = None,
) -> None:
    """PATCH (§5.8.2): the fragment merged into the stored subscription, the result checked
    as a whole (a change that would make it invalid is refused, nothing changed)."""
    with database.session() as session:
        sub = _find(session, principal, sub_id)
        current = _row(sub, box)
        merged = merge_fragment(current.document, current.receiver, fragment)
        expiry_given = isinstance(fragment, dict) and "expiresAt" in fragment
        spec = check_subscription(merged, future_expiry=expiry_given)
        spec.document["id"] = sub.sub_id
        _apply(sub, spec, box)
        sub.modified_at = clock.now()
        if isinstance(fragment, dict) and "@context" in fragment:
            sub.context = fragment["@context"]
        _journal(session, principal, "subscription.update", sub_id, spec, address)


def delete_subscription(
    database: Database, principal: Principal, sub_id: str, *, address: str | None = None
) -> None:
    with database.session() as session:
        session.delete(_find(session, principal, sub_id))
        _journal(session, principal, "subscription.delete", sub_id, None, address)


def load_rows(database: Database, box: SecretBox, sub_ids: list[str] | None = None) -> list[Row]:
    """Every stored subscription (or those named), for the matching index."""
    statement = select(Subscription).order_by(Subscription.id)
    if sub_ids is not None:
        statement = statement.where(Subscription.sub_id.in_(sub_ids))
    with database.session() as session:
        return [_row(s, box) for s in session.scalars(statement)]


def receiver_headers(row: Row) -> dict[str, str]:
    return {p["key"]: p["value"] for p in row.receiver or ()}

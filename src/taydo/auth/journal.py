"""The audit journal: one hash-chained, append-only trail of every state change.

Each entry holds the SHA-256 of its predecessor (``prev_hash``) and its own ``hash`` over a
canonical serialisation of its fields plus ``prev_hash``. Entry ids are the chain positions
1, 2, 3, … without gaps, and the ``audit_head`` row names the last position and hash. Editing,
deleting or inserting a row therefore breaks a link, a number or the head, and ``verify``
reports the first such break.

Appends are serialised by updating the head row first (``UPDATE … RETURNING``): on PostgreSQL
that row lock makes concurrent writers queue (READ COMMITTED re-reads the updated head), on
SQLite the update takes the database write lock. The chain never forks, and because the head
moves in the caller's transaction, a rolled-back change leaves no entry and no gap.

Someone who can rewrite the whole table *and* the head can recompute every hash; anchor the
head outside the database (``taydo audit head`` in a daily log or a printed report) to catch
that too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Integer, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from taydo.auth.models import AuditEntry, AuditHead
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database

__all__ = [
    "GENESIS_HASH",
    "AuditPage",
    "Break",
    "actor_of",
    "entry_hash",
    "head",
    "query",
    "record",
    "record_many",
    "timeline",
    "verify",
]

GENESIS_HASH = "0" * 64
_journal = cast(Table, AuditEntry.__table__)
_head = cast(Table, AuditHead.__table__)


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored as UTC); PostgreSQL aware ones.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _time_text(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary as it will read back from the database (JSON types only)."""
    normalised: dict[str, Any] = json.loads(json.dumps(summary, default=str, ensure_ascii=False))
    return normalised


def entry_hash(fields: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 over the canonical JSON of an entry's fields and its predecessor's hash."""
    payload = {
        "id": int(fields["id"]),
        "at": _time_text(fields["at"]),
        "actor": fields["actor"],
        "action": fields["action"],
        "object_type": fields["object_type"],
        "object_id": fields["object_id"],
        "summary": fields["summary"],
        "address": fields["address"],
        "prev_hash": prev_hash,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _insert_genesis(connection: Session | Connection) -> Any:
    """The head row at the chain's start; concurrent first writers must not collide."""
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    values = {"id": 1, "seq": 0, "last_hash": GENESIS_HASH}
    statement: Any
    if bind.dialect.name == "postgresql":
        statement = postgresql.insert(_head).values(**values).on_conflict_do_nothing()
    elif bind.dialect.name == "sqlite":
        statement = sqlite.insert(_head).values(**values).on_conflict_do_nothing()
    else:
        statement = insert(_head).values(**values)
    return statement.returning(_head.c.id)


# The append path's statements, built once: every state change of every domain records an
# entry (each posted citizen report one), and building an UPDATE or INSERT per call cost more
# than running it.
_ADVANCE = (
    update(_head)
    .where(_head.c.id == 1)
    .values(seq=_head.c.seq + bindparam("b_step", type_=Integer))
    .returning(_head.c.seq, _head.c.last_hash)
)
_INSERT_ENTRIES = insert(_journal)
_MOVE_HEAD = update(_head).where(_head.c.id == 1).values(last_hash=bindparam("b_last_hash"))


def _advance_head(connection: Session | Connection, step: int = 1) -> tuple[int, str]:
    """Lock the head and move it ``step`` positions on; returns (new position, previous hash)."""
    row = connection.execute(_ADVANCE, {"b_step": step}).first()
    if row is None:
        # No head yet (a new or truncated database). Refuse when the journal has entries: a
        # missing head over a non-empty journal is tampering, and recreating it would hide it.
        created = connection.execute(_insert_genesis(connection)).first() is not None
        if created and connection.execute(select(func.count()).select_from(_journal)).scalar():
            raise RuntimeError("audit_head is missing: run `taydo audit verify`")
        row = connection.execute(_ADVANCE, {"b_step": step}).one()
    return int(row[0]), str(row[1])


def actor_of(principal: Principal | None) -> str:
    """The ``actor`` of an entry: the caller's username, or ``system`` for the server itself
    (packs, engines, command-line work without a user)."""
    return principal.username if principal is not None else "system"


def record(
    connection: Session | Connection,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int,
    summary: dict[str, Any] | None = None,
    address: str | None = None,
) -> int:
    """Append an entry in the caller's transaction; returns its position in the chain.

    ``summary`` holds what changed (e.g. ``{"before": {...}, "after": {...}}``); never put
    secrets in it. Call it last in the transaction: it holds the chain lock until commit.
    """
    position, prev_hash = _advance_head(connection)
    fields: dict[str, Any] = {
        "id": position,
        # Microseconds are the precision both databases keep, so the hash re-computes.
        "at": clock.now(),
        "actor": str(actor)[:120],
        "action": str(action)[:64],
        "object_type": str(object_type)[:64],
        "object_id": str(object_id)[:200],
        "summary": _canonical_summary(summary or {}),
        "address": address[:64] if address else None,
    }
    digest = entry_hash(fields, prev_hash)
    connection.execute(_INSERT_ENTRIES, {**fields, "prev_hash": prev_hash, "hash": digest})
    connection.execute(_MOVE_HEAD, {"b_last_hash": digest})
    return position


def record_many(
    connection: Session | Connection, entries: list[dict[str, Any]], *, actor: str | None = None
) -> list[int]:
    """Append several entries in the caller's transaction, in order, as ``record`` would one
    by one (same chain, same hashes), with one head update and one multi-row INSERT: for a
    batch written in one transaction (a group commit). Each entry holds ``record``'s keyword
    arguments (``actor`` may be given once for all). Returns their positions."""
    if not entries:
        return []
    last, prev_hash = _advance_head(connection, len(entries))
    at = clock.now()
    rows: list[dict[str, Any]] = []
    for position, entry in enumerate(entries, start=last - len(entries) + 1):
        address = entry.get("address")
        fields: dict[str, Any] = {
            "id": position,
            "at": at,
            "actor": str(entry.get("actor", actor))[:120],
            "action": str(entry["action"])[:64],
            "object_type": str(entry["object_type"])[:64],
            "object_id": str(entry["object_id"])[:200],
            "summary": _canonical_summary(entry.get("summary") or {}),
            "address": address[:64] if address else None,
        }
        digest = entry_hash(fields, prev_hash)
        rows.append({**fields, "prev_hash": prev_hash, "hash": digest})
        prev_hash = digest
    connection.execute(_INSERT_ENTRIES, rows)
    connection.execute(_MOVE_HEAD, {"b_last_hash": prev_hash})
    return [int(r["id"]) for r in rows]


@dataclass(frozen=True)
class Break:
    """The first broken link the verifier found."""

    position: int
    reason: str

    def __str__(self) -> str:
        return f"entry {self.position}: {self.reason}"


@dataclass(frozen=True)
class VerifyResult:
    entries: int
    head_hash: str
    broken: Break | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify(database: Database, *, batch: int = 5000) -> VerifyResult:
    """Walk the whole chain in order and report the first broken link."""
    expected_id = 1
    prev_hash = GENESIS_HASH
    count = 0
    with database.engine.connect() as connection:
        head_row = connection.execute(select(_head.c.seq, _head.c.last_hash)).first()
        last_id = 0
        while True:
            rows = connection.execute(
                select(_journal).where(_journal.c.id > last_id).order_by(_journal.c.id).limit(batch)
            ).all()
            if not rows:
                break
            for row in rows:
                fields = row._asdict()
                if fields["id"] != expected_id:
                    return VerifyResult(
                        count,
                        prev_hash,
                        Break(expected_id, f"missing (next entry found is {fields['id']})"),
                    )
                if fields["prev_hash"] != prev_hash:
                    return VerifyResult(
                        count,
                        prev_hash,
                        Break(expected_id, "prev_hash differs from the entry before"),
                    )
                if entry_hash(fields, prev_hash) != fields["hash"]:
                    return VerifyResult(
                        count, prev_hash, Break(expected_id, "content does not match its hash")
                    )
                prev_hash = fields["hash"]
                expected_id += 1
                count += 1
                last_id = fields["id"]
        if head_row is None:
            if count:
                return VerifyResult(count, prev_hash, Break(count, "audit_head row is missing"))
            return VerifyResult(0, GENESIS_HASH, None)
        if int(head_row.seq) != count:
            return VerifyResult(
                count,
                prev_hash,
                Break(count + 1, f"missing: head says {head_row.seq} entries, found {count}"),
            )
        if head_row.last_hash != prev_hash:
            return VerifyResult(count, prev_hash, Break(count, "last entry does not match head"))
    return VerifyResult(count, prev_hash, None)


def head(database: Database) -> tuple[int, str]:
    """(entries, last hash): write it down outside the database to anchor the chain."""
    with database.engine.connect() as connection:
        row = connection.execute(select(_head.c.seq, _head.c.last_hash)).first()
    return (0, GENESIS_HASH) if row is None else (int(row.seq), str(row.last_hash))


def _as_dict(row: Any) -> dict[str, Any]:
    entry: dict[str, Any] = row._asdict()
    entry["at"] = _utc(entry["at"])
    return entry


@dataclass(frozen=True)
class AuditPage:
    items: list[dict[str, Any]]
    next_offset: int | None


def query(
    database: Database,
    *,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> AuditPage:
    """Entries matching every given filter, newest first. ``action`` ending in ``.*`` is a
    prefix (``token.*``); ``until`` is exclusive."""
    statement = select(_journal)
    if actor is not None:
        statement = statement.where(_journal.c.actor == actor)
    if action is not None:
        if action.endswith(".*"):
            statement = statement.where(_journal.c.action.startswith(action[:-1]))
        else:
            statement = statement.where(_journal.c.action == action)
    if object_type is not None:
        statement = statement.where(_journal.c.object_type == object_type)
    if object_id is not None:
        statement = statement.where(_journal.c.object_id == str(object_id))
    if since is not None:
        statement = statement.where(_journal.c.at >= _utc(since))
    if until is not None:
        statement = statement.where(_journal.c.at < _utc(until))
    statement = statement.order_by(_journal.c.id.desc()).offset(offset).limit(limit + 1)
    with database.engine.connect() as connection:
        rows = connection.execute(statement).all()
    items = [_as_dict(row) for row in rows[:limit]]
    return AuditPage(items, offset + limit if len(rows) > limit else None)


def timeline(database: Database, object_type: str, object_id: str | int) -> list[dict[str, Any]]:
    """Every entry about one object, oldest first (an object's history in the console)."""
    statement = (
        select(_journal)
        .where(_journal.c.object_type == object_type, _journal.c.object_id == str(object_id))
        .order_by(_journal.c.id)
    )
    with database.engine.connect() as connection:
        return [_as_dict(row) for row in connection.execute(statement)]

"""API keys of the apps that post reports: shown once when made, stored as SHA-256 only
(a key is 32 random bytes: a fast hash is enough, unlike a password), revocable."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taydo.auth import journal
from taydo.citizen.models import CitizenApiKey
from taydo.core import clock
from taydo.core.db import Database
from taydo.core.errors import NotFound

__all__ = ["create_key", "key_id_for", "key_id_in", "list_keys", "revoke_key"]

PREFIX = "o311_"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


def _key_dict(row: CitizenApiKey) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.prefix,
        "created_at": row.created_at.isoformat(),
        "created_by": row.created_by,
        "revoked": row.revoked_at is not None,
    }


def create_key(
    database: Database, name: str, *, actor: str, address: str | None = None
) -> tuple[dict[str, Any], str]:
    """A new key for the app ``name``: (its record, the key itself — shown only now)."""
    key = PREFIX + secrets.token_urlsafe(32)
    with database.session() as session:
        row = CitizenApiKey(
            name=name.strip()[:120],
            key_hash=_digest(key),
            prefix=key[: len(PREFIX) + 4],
            created_at=clock.now(),
            created_by=actor,
        )
        session.add(row)
        session.flush()
        journal.record(
            session,
            actor=actor,
            action="citizen.api_key_created",
            object_type="citizen_api_key",
            object_id=row.id,
            summary={"name": row.name},
            address=address,
        )
        return _key_dict(row), key


def list_keys(database: Database) -> list[dict[str, Any]]:
    with database.session() as session:
        return [
            _key_dict(r) for r in session.scalars(select(CitizenApiKey).order_by(CitizenApiKey.id))
        ]


def revoke_key(
    database: Database, key_id: int, *, actor: str, address: str | None = None
) -> dict[str, Any]:
    with database.session() as session:
        row = session.get(CitizenApiKey, key_id)
        if row is None:
            raise NotFound(f"không có khóa / no API key {key_id}")
        if row.revoked_at is None:
            row.revoked_at = clock.now()
            journal.record(
                session,
                actor=actor,
                action="citizen.api_key_revoked",
                object_type="citizen_api_key",
                object_id=row.id,
                summary={"name": row.name},
                address=address,
            )
        return _key_dict(row)


def key_id_in(session: Session, key: str) -> int | None:
    """``key_id_for`` in the caller's session (a batch of posts checks its keys in its own
    transaction, so a key revoked before the batch's commit files nothing)."""
    if not key or len(key) > 200:
        return None
    return session.scalar(
        select(CitizenApiKey.id).where(
            CitizenApiKey.key_hash == _digest(key), CitizenApiKey.revoked_at.is_(None)
        )
    )


def key_id_for(database: Database, key: str) -> int | None:
    """The id of a valid (not revoked) key, or None."""
    with database.session() as session:
        return key_id_in(session, key)

"""Machine tokens: issued for a user, bound to a role and agencies, optional expiry, stored
only as a SHA-256 hash (tokens are 256-bit random, so a fast indexed hash is safe)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, select

from taydo.auth import journal
from taydo.auth.models import ApiToken, User
from taydo.auth.roles import check_role
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Invalid, NotFound

__all__ = [
    "TOKEN_PREFIX",
    "issue_token",
    "list_tokens",
    "principal_for_token",
    "revoke_token",
    "token_active",
    "token_expiry",
]

TOKEN_PREFIX = "tdk_"  # noqa: S105 - a marker, not a secret


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _account_scope(user: User, role: str) -> list[str]:
    """The agencies a token takes from its account when none are named: the account's, if
    the token's role is scoped at all (only an agency officer's is)."""
    return list(user.agencies or []) if role == "agency_officer" else []


def token_expiry(days: float | None) -> datetime | None:
    return None if days is None else clock.now() + timedelta(days=days)


def issue_token(
    database: Database,
    user_id: int,
    name: str,
    *,
    role: str | None = None,
    agencies: list[str] | None = None,
    expires_at: datetime | None = None,
    actor: str = "system",
    address: str | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the token text, which is never shown again."""
    if expires_at is not None and expires_at.tzinfo is None:
        raise Invalid("expires_at needs a time zone")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with database.session() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"Không có người dùng / no user {user_id}")
        token_role = role or user.role
        if agencies is None:
            agencies = _account_scope(user, token_role)
        token_agencies = check_role(token_role, agencies)
        row = ApiToken(
            name=name[:120],
            token_hash=_hash_token(token),
            prefix=token[: len(TOKEN_PREFIX) + 4],
            user_id=user.id,
            role=token_role,
            agencies=token_agencies,
            created_at=clock.now(),
            expires_at=expires_at,
        )
        session.add(row)
        session.flush()
        journal.record(
            session,
            actor=actor,
            action="token.issue",
            object_type="token",
            object_id=row.id,
            summary={
                "after": {
                    "name": row.name,
                    "prefix": row.prefix,
                    "user": user.username,
                    "role": token_role,
                    "agencies": token_agencies,
                    "expires_at": expires_at.isoformat() if expires_at else None,
                }
            },
            address=address,
        )
        return row, token


def list_tokens(database: Database, *, username: str | None = None) -> list[tuple[ApiToken, str]]:
    """(token row, owner's username) pairs; rows never hold the secret, only its hash."""
    statement = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
    if username is not None:
        statement = statement.where(User.username == username)
    with database.session() as session:
        return [(row, name) for row, name in session.execute(statement.order_by(ApiToken.id))]


def revoke_token(
    database: Database, token_id: int, *, actor: str = "system", address: str | None = None
) -> tuple[ApiToken, str]:
    """Revoke a token (idempotent); returns the row and its owner's username."""
    with database.session() as session:
        found = session.execute(
            select(ApiToken, User.username)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.id == token_id)
        ).first()
        if found is None:
            raise NotFound(f"Không có mã truy cập / no token {token_id}")
        row, owner = found
        if row.revoked_at is None:
            row.revoked_at = clock.now()
            session.flush()
            journal.record(
                session,
                actor=actor,
                action="token.revoke",
                object_type="token",
                object_id=row.id,
                summary={"name": row.name, "prefix": row.prefix, "user": owner},
                address=address,
            )
        return row, owner


def token_active(row: ApiToken) -> bool:
    expires = _aware(row.expires_at)
    return row.revoked_at is None and (expires is None or expires > clock.now())


# Every API request runs this: built once, and read with a plain connection (an ORM session
# with two mapped objects, built per call, cost several times as much per request).
_PRINCIPAL_OF_TOKEN = (
    select(
        ApiToken.id,
        ApiToken.role,
        ApiToken.agencies,
        ApiToken.revoked_at,
        ApiToken.expires_at,
        User.id,
        User.username,
        User.disabled,
    )
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def principal_for_token(database: Database, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    with database.engine.connect() as connection:
        found = connection.execute(_PRINCIPAL_OF_TOKEN, {"token_hash": _hash_token(token)}).first()
    if found is None:
        return None
    token_id, role, agencies, revoked_at, expires_at, user_id, username, disabled = found
    expires = _aware(expires_at)
    if disabled or revoked_at is not None or (expires is not None and expires <= clock.now()):
        return None
    return Principal(
        username=username,
        role=role,
        agencies=frozenset(agencies or []),
        user_id=user_id,
        token_id=token_id,
    )

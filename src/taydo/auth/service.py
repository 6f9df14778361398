"""Users, tokens, logins, demo accounts, and turning a request's credentials into a
``Principal``. Every change here appends to the audit journal in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from taydo.auth import journal, passwords
from taydo.auth.authn import authenticator, csrf_token
from taydo.auth.models import ApiToken, User, UserSession
from taydo.auth.roles import check_role, valid_username
from taydo.auth.sessions import login, logout, session_hash
from taydo.auth.tokens import issue_token, list_tokens, principal_for_token, revoke_token
from taydo.core import clock
from taydo.core.db import Database
from taydo.core.errors import Conflict, Invalid, NotFound

__all__ = [
    "DEMO_ACCOUNTS",
    "authenticator",
    "create_user",
    "csrf_token",
    "demo_password_users",
    "ensure_demo_users",
    "get_user",
    "issue_token",
    "list_tokens",
    "list_users",
    "login",
    "logout",
    "people",
    "principal_for_token",
    "revoke_token",
    "set_disabled",
    "set_password",
    "set_role",
]

# One demo account per role (``taydo demo``); passwords are generated, never fixed. Each has
# a person's (made-up) name, which the console shows for what the account did.
DEMO_ACCOUNTS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("admin", "admin", (), "Trần Minh Quân"),
    ("leader", "leader", (), "Lê Hoàng Phúc"),
    ("operator", "operator", (), "Nguyễn Văn An"),
    ("officer", "agency_officer", ("SNNMT",), "Phạm Thị Mai"),
    ("viewer", "viewer", (), "Võ Thị Lan"),
)


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"Không có người dùng / no user {username!r}")
    return user


def _keep_an_admin(session: Session, user: User, *, role: str, disabled: bool) -> None:
    """Refuse the change that would leave no enabled administrator (nobody could undo it)."""
    if user.role != "admin" or user.disabled or (role == "admin" and not disabled):
        return
    others = session.scalar(
        select(func.count()).where(
            User.role == "admin", User.disabled.is_(False), User.id != user.id
        )
    )
    if not others:
        raise Conflict(
            "Phải còn ít nhất một quản trị viên đang hoạt động / "
            "at least one enabled administrator must remain"
        )


def _user_view(user: User) -> dict[str, Any]:
    return {"role": user.role, "agencies": list(user.agencies or []), "disabled": user.disabled}


# --- users -------------------------------------------------------------------------------


def create_user(
    database: Database,
    username: str,
    role: str,
    *,
    agencies: list[str] | None = None,
    full_name: str = "",
    password: str | None = None,
    password_hash: str | None = None,
    actor: str = "system",
    address: str | None = None,
    demo: bool = False,
) -> User:
    """Create an account; ``password`` is hashed here (argon2id). Without one the account
    can only use tokens (a machine or connector account)."""
    username = username.strip()
    if not valid_username(username):
        raise Invalid(
            "Tên đăng nhập 1–80 ký tự in được / username must have 1 to 80 printable characters"
        )
    agencies = check_role(role, agencies)
    if password is not None:
        password_hash = passwords.hash_password(password)
    with database.session() as session:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise Conflict(f"Người dùng đã tồn tại / user {username!r} exists")
        now = clock.now()
        user = User(
            username=username,
            role=role,
            agencies=agencies,
            full_name=full_name,
            password_hash=password_hash,
            disabled=False,
            created_at=now,
            demo_password=demo,
            password_changed_at=now if password_hash else None,
        )
        session.add(user)
        session.flush()
        journal.record(
            session,
            actor=actor,
            action="user.create",
            object_type="user",
            object_id=username,
            summary={"after": {**_user_view(user), "full_name": full_name}},
            address=address,
        )
        return user


def get_user(database: Database, username: str) -> User:
    with database.session() as session:
        return _user(session, username)


def people(session: Session, usernames: Iterable[str]) -> dict[str, str]:
    """How the console names each of these accounts: its full name, its username when it has
    none. Read in one query (a few at a time for very long lists); a username no account
    has is left out, so the caller shows it as it is."""
    wanted = sorted({u for u in usernames if u})
    names: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(User.username, User.full_name).where(
                User.username.in_(wanted[start : start + 500])
            )
        )
        names.update(
            (username, (full_name or "").strip() or username) for username, full_name in rows
        )
    return names


def list_users(database: Database) -> list[User]:
    with database.session() as session:
        return list(session.scalars(select(User).order_by(User.username)))


def set_disabled(
    database: Database,
    username: str,
    disabled: bool = True,
    *,
    actor: str = "system",
    address: str | None = None,
) -> User:
    """Disable (or enable again) an account; disabling ends its sessions at once."""
    with database.session() as session:
        user = _user(session, username)
        before = _user_view(user)
        _keep_an_admin(session, user, role=user.role, disabled=disabled)
        if user.disabled != disabled:
            user.disabled = disabled
            if disabled:
                session.execute(delete(UserSession).where(UserSession.user_id == user.id))
            session.flush()
            journal.record(
                session,
                actor=actor,
                action="user.disable" if disabled else "user.enable",
                object_type="user",
                object_id=username,
                summary={"before": before, "after": _user_view(user)},
                address=address,
            )
        return user


def set_role(
    database: Database,
    username: str,
    role: str,
    *,
    agencies: list[str] | None = None,
    actor: str = "system",
    address: str | None = None,
) -> User:
    """Change role and agencies. The user's tokens are revoked, since each token carries the
    role it was issued with and must not outlive a demotion."""
    with database.session() as session:
        user = _user(session, username)
        if agencies is None:  # keep the scope, unless the new role has none
            agencies = list(user.agencies or []) if role == "agency_officer" else []
        new_agencies = check_role(role, agencies)
        before = _user_view(user)
        _keep_an_admin(session, user, role=role, disabled=user.disabled)
        user.role = role
        user.agencies = new_agencies
        revoked = session.execute(  # type: ignore[attr-defined]
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=clock.now())
        ).rowcount
        session.flush()
        journal.record(
            session,
            actor=actor,
            action="user.set_role",
            object_type="user",
            object_id=username,
            summary={"before": before, "after": _user_view(user), "tokens_revoked": revoked},
            address=address,
        )
        return user


def set_password(
    database: Database,
    username: str,
    password: str,
    *,
    actor: str = "system",
    address: str | None = None,
    keep_session_id: str | None = None,
) -> None:
    """Set a new password and end the user's other sessions."""
    new_hash = passwords.hash_password(password)
    with database.session() as session:
        user = _user(session, username)
        user.password_hash = new_hash
        user.demo_password = False
        user.password_changed_at = clock.now()
        ending = delete(UserSession).where(UserSession.user_id == user.id)
        if keep_session_id:
            keep = session_hash(keep_session_id)
            ending = ending.where(UserSession.id_hash != keep)
        session.execute(ending)
        session.flush()
        journal.record(
            session,
            actor=actor,
            action="user.set_password",
            object_type="user",
            object_id=username,
            summary={"password": "changed"},
            address=address,
        )


# --- demo accounts -----------------------------------------------------------------------


def ensure_demo_users(database: Database) -> list[tuple[str, str, str]]:
    """Create the missing demo accounts (one per role) with fresh random passwords.

    Returns ``(username, password, role)`` for the accounts created now, the only moment
    their passwords exist in clear; existing accounts are left alone (use
    ``taydo user set-password`` to get a known password again)."""
    created: list[tuple[str, str, str]] = []
    with database.session() as session:
        existing = set(session.scalars(select(User.username)))
    for username, role, agencies, full_name in DEMO_ACCOUNTS:
        if username in existing:
            continue
        password = passwords.generate()
        try:
            create_user(
                database,
                username,
                role,
                agencies=list(agencies),
                full_name=full_name,
                password=password,
                actor="taydo demo",
                demo=True,
            )
        except Conflict:  # created meanwhile by another process
            continue
        created.append((username, password, role))
    return created


def demo_password_users(database: Database) -> list[str]:
    """Enabled accounts still using a generated demo password (``taydo serve`` refuses)."""
    with database.session() as session:
        return list(
            session.scalars(
                select(User.username).where(User.demo_password.is_(True), User.disabled.is_(False))
            )
        )

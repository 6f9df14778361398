"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile)."""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from taydo.core.errors import Invalid

__all__ = [
    "MIN_LENGTH",
    "check_strength",
    "generate",
    "hash_password",
    "needs_rehash",
    "rehash",
    "verify",
]

MIN_LENGTH = 10
_hasher = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4


# Verified against when the account does not exist, so a wrong username costs the same time
# as a wrong password and does not reveal which accounts exist.
@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise Invalid(
            f"Mật khẩu phải có ít nhất {MIN_LENGTH} ký tự / "
            f"the password needs at least {MIN_LENGTH} characters"
        )


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def rehash(password: str) -> str:
    """A fresh hash of a password that just verified (no strength rule: it is already set)."""
    return _hasher.hash(password)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def generate() -> str:
    """A random password for demo accounts (about 96 bits)."""
    return secrets.token_urlsafe(12)

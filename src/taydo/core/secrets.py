"""Secrets the IOC must keep but never show (a connector's token or database URL): sealed at
rest with an authenticated cipher whose key is derived from ``TAYDO_SECRET_KEY``.

A database dump or backup alone then reveals no agency credential. Fernet (AES-128-CBC with
HMAC-SHA256, from ``cryptography``) authenticates as well as encrypts, so a value tampered
with in the database fails to open instead of yielding garbage. The key is derived with
HKDF for this one purpose, so it is not the key that signs sessions.

Changing ``TAYDO_SECRET_KEY`` makes the sealed values unreadable: ``open`` then raises
``SecretUnreadable`` and the owner sets the secret again (``PATCH /api/v1/connectors/{name}``).
Values stored before sealing existed (no prefix) are read as they are and sealed by
``seal_plain`` at the next start.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["PREFIX", "SecretBox", "SecretUnreadable"]

PREFIX = "fernet1:"
_PURPOSE = b"taydo stored secrets v1"


class SecretUnreadable(ValueError):
    """A sealed secret that this server's key cannot open (the key changed, or tampering)."""


class SecretBox:
    def __init__(self, secret_key: str) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
            secret_key.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, plain: str) -> str:
        return PREFIX + self._fernet.encrypt(plain.encode()).decode("ascii")

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # stored before sealing existed; sealed again at the next start
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode()
        except (InvalidToken, ValueError):
            raise SecretUnreadable(
                "bí mật đã lưu không giải mã được bằng TAYDO_SECRET_KEY hiện tại, hãy đặt lại / "
                "the stored secret cannot be opened with the current TAYDO_SECRET_KEY; set it again"
            ) from None

    @staticmethod
    def is_sealed(stored: str) -> bool:
        return stored.startswith(PREFIX)

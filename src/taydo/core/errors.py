"""Errors the services raise; the app maps them to HTTP answers with a clear reason."""

from __future__ import annotations

__all__ = ["Conflict", "Forbidden", "Invalid", "NotFound", "TaydoError", "Unauthenticated"]


class TaydoError(Exception):
    status_code = 400

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Invalid(TaydoError):
    status_code = 422


class NotFound(TaydoError):
    status_code = 404


class Conflict(TaydoError):
    status_code = 409


class Unauthenticated(TaydoError):
    status_code = 401


class Forbidden(TaydoError):
    status_code = 403

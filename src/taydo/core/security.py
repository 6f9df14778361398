"""HTTP security middleware: security headers on every response, and the CSRF form field.

Pure ASGI (no ``BaseHTTPMiddleware``) so streamed answers such as Server-Sent Events pass
through untouched.

The console's HTML forms send their CSRF token as a ``csrf_token`` form field. Dependencies
cannot read a body synchronously, so for a state-changing form request that rides on the
session cookie (no ``Authorization`` header, no ``X-CSRF-Token`` header) this middleware reads
the body once, puts the field in ``scope["taydo.csrf_form"]`` for the authenticator, and
replays the body to the app unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "SecurityMiddleware",
    "content_security_policy",
    "security_headers",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The console serves its own scripts, styles, fonts and map tiles: nothing from elsewhere
# (IOCs run on closed networks, and this also blocks injected third-party content).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SESSION_COOKIE = "taydo_session"
CSRF_HEADER = b"x-csrf-token"
CSRF_FIELD = "csrf_token"
FORM_TYPES = (b"application/x-www-form-urlencoded", b"multipart/form-data")
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_FORM_BYTES = 16 * 1024 * 1024


def content_security_policy(img_sources: tuple[str, ...] = ()) -> str:
    """The policy, with ``img_sources`` (a configured map tile server's origin) allowed as
    images only: tiles are <img> elements, so nothing else of that host may run or connect."""
    if not img_sources:
        return CONTENT_SECURITY_POLICY
    extra = " ".join(img_sources)
    return CONTENT_SECURITY_POLICY.replace(
        "img-src 'self' data: blob:", f"img-src 'self' data: blob: {extra}"
    )


def security_headers(
    *, https: bool, img_sources: tuple[str, ...] = ()
) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", content_security_policy(img_sources).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if https:
        headers.append((b"strict-transport-security", b"max-age=31536000"))
    return headers


class SecurityMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        https: bool = False,
        max_form_bytes: int = MAX_FORM_BYTES,
        img_sources: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.headers = security_headers(https=https, img_sources=img_sources)
        self.max_form_bytes = max_form_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in self.headers if n not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        if self._needs_form_token(scope):
            receive = await self._read_form_token(scope, receive, self.max_form_bytes)
        await self.app(scope, receive, send_with_headers)

    @staticmethod
    def _needs_form_token(scope: Scope) -> bool:
        if scope["method"] not in UNSAFE:
            return False
        headers: dict[bytes, bytes] = dict(scope.get("headers", []))  # ASGI: (name, value)
        if b"authorization" in headers or CSRF_HEADER in headers:
            return False
        if SESSION_COOKIE.encode() not in headers.get(b"cookie", b""):
            return False
        content_type = headers.get(b"content-type", b"")
        return content_type.startswith(FORM_TYPES)

    @staticmethod
    async def _read_form_token(scope: Scope, receive: Receive, limit: int) -> Receive:
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break  # client went away; the app will see the disconnect
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > limit:
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": more}
            # Then the rest of an oversized body, or the real disconnect when it happens.
            return await receive()

        if not more:
            sent = False

            async def once() -> Message:
                nonlocal sent
                if sent:
                    return {"type": "http.disconnect"}
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}

            try:
                async with Request(scope, once).form() as form:
                    token = form.get(CSRF_FIELD)
                if isinstance(token, str):
                    scope["taydo.csrf_form"] = token
            except Exception:  # noqa: S110 - a malformed form simply carries no token
                pass
        return replay

"""Decoding JSON request bodies strictly, so that hostile JSON is a 400 at the door.

Hostile JSON used to reach the app in forms that failed far from the door, as 500s: a body of
100,000 ``[`` (the decoders recurse and raise ``RecursionError``), bytes that are not UTF-8
(``UnicodeDecodeError``, not a decode error), a lone UTF-16 surrogate such as ``"h\\ud800"``
(the ``json`` module accepts it, then no database can store the string) and a value nested
so deep that writing it back (``json.dumps`` into a JSON column) recurses past Python's limit.

``loads`` refuses all of these with ``MalformedJSON`` (400 from the ingest gateway, 422 from
the middleware below, in the API's error shape), with a short reason that never echoes the
input. It keeps the one leniency the ingest gateway relies
on: non-standard number tokens (``NaN``, ``Infinity``, ``1e999``) decode, so the items that
hold them are refused one by one instead of the whole body.

The HTTP ingest gateway and the pull connectors call ``loads`` themselves; every other route
gets the same check from ``JsonBodyMiddleware`` before FastAPI decodes it. NGSI-LD and MQTT
keep orjson, which already refuses bad UTF-8, lone surrogates and more than 1,024 levels, and
bound what they keep further on (NGSI-LD attribute values at 32 levels; MQTT keeps the
payload as text): a depth walk over every NGSI-LD batch would cost more than decoding it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import msgspec
from anyio import to_thread

from taydo.core.errors import TaydoError
from taydo.core.responses import FastJSONResponse

__all__ = ["MAX_DEPTH", "JsonBodyMiddleware", "MalformedJSON", "check_value", "loads"]

# Deep enough for any body the IOC takes (a GeoJSON MultiPolygon inside an NGSI-LD entity is
# about 8 levels), far below the depth at which Python's own json recursion fails (~1,000).
MAX_DEPTH = 64
# Bodies larger than this are decoded off the event loop.
THREAD_BYTES = 64 * 1024
_PREFIX = "JSON không hợp lệ / malformed JSON"
_fast = msgspec.json.Decoder().decode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class MalformedJSON(TaydoError):
    status_code = 400

    def __init__(self, reason: str, **details: object) -> None:
        # The reason is ours or the decoder's (a position, never the input), and bounded.
        super().__init__(f"{_PREFIX}: {reason[:200]}", **details)


def loads(
    data: bytes,
    *,
    max_depth: int | None = MAX_DEPTH,
    allow_nonfinite: bool = True,
    allow_nul: bool = True,
) -> Any:
    """The value of a JSON document, or ``MalformedJSON`` saying why not.

    ``max_depth=None`` skips the depth walk where every accepted value is checked flat anyway
    and the raw input is only kept as text (the ingest hot path); the decoder still refuses
    anything deeper than Python's recursion limit. ``allow_nonfinite=False`` refuses ``NaN``,
    ``Infinity`` and out-of-range numbers (strict JSON); ``allow_nul=False`` refuses strings
    holding NUL, which PostgreSQL cannot store as text.
    """
    try:
        value = _fast(data)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError, ValueError) as fast_error:
        value = _lenient(data, fast_error)
        check_value(value, max_depth=max_depth, allow_nul=allow_nul, surrogates=True)
        if not allow_nonfinite:
            # The lenient decoder read it: what the strict one refused was a number token.
            raise MalformedJSON(_short(fast_error)) from None
        return value
    if max_depth is not None or not allow_nul:
        # msgspec never yields a lone surrogate (it refuses them), so only depth and NUL.
        check_value(value, max_depth=max_depth, allow_nul=allow_nul, surrogates=False)
    return value


def _short(error: BaseException) -> str:
    return str(error).split("\n", 1)[0]


def _lenient(data: bytes, fast_error: BaseException) -> Any:
    """The standard library's reading (NaN, Infinity, 1e999, integers of any size), after
    the checks it would skip: strict UTF-8 first, recursion caught."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedJSON(
            f"không phải UTF-8 / not valid UTF-8 at byte {exc.start}", at_byte=exc.start
        ) from None
    if text.startswith("\ufeff"):
        raise MalformedJSON("có BOM / starts with a byte order mark (send UTF-8 without BOM)")
    try:
        return json.loads(text)
    except RecursionError:
        raise MalformedJSON(_too_deep(None)) from None
    except json.JSONDecodeError as exc:
        raise MalformedJSON(
            f"{exc.msg} (dòng / line {exc.lineno}, cột / column {exc.colno})", at_char=exc.pos
        ) from None
    except ValueError:  # e.g. an integer with more digits than Python converts
        raise MalformedJSON(_short(fast_error)) from None


def _too_deep(limit: int | None) -> str:
    if limit is None:
        return "lồng quá sâu / nested too deeply"
    return f"lồng quá {limit} cấp / nested deeper than {limit} levels"


def check_value(
    value: Any, *, max_depth: int | None, allow_nul: bool = True, surrogates: bool = True
) -> None:
    """Walk a decoded value without recursion: its depth, and strings no database refuses
    (no lone surrogate; no NUL unless allowed)."""
    limit = max_depth if max_depth is not None else 1 << 30
    check_text = surrogates or not allow_nul
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        kind = type(node)
        if kind is str:
            if check_text:
                _check_text(node, allow_nul, surrogates)
            continue
        if kind is dict:
            if depth > limit:
                raise MalformedJSON(_too_deep(max_depth), max_depth=max_depth)
            for key, child in node.items():
                if check_text:
                    _check_text(key, allow_nul, surrogates)
                if type(child) in (dict, list) or (check_text and type(child) is str):
                    stack.append((child, depth + 1))
        elif kind is list:
            if depth > limit:
                raise MalformedJSON(_too_deep(max_depth), max_depth=max_depth)
            for child in node:
                if type(child) in (dict, list) or (check_text and type(child) is str):
                    stack.append((child, depth + 1))


def _check_text(text: str, allow_nul: bool, surrogates: bool) -> None:
    if not allow_nul and "\x00" in text:
        raise MalformedJSON("chuỗi chứa ký tự NUL / a string holds a NUL character (\\u0000)")
    if surrogates and not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            code = ord(text[exc.start])
            raise MalformedJSON(
                "chuỗi chứa nửa cặp UTF-16 lẻ / a string holds a lone UTF-16 surrogate "
                f"(\\u{code:04x})"
            ) from None


_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


class JsonBodyMiddleware:
    """Check every JSON request body with ``loads`` before a route decodes it.

    FastAPI decodes bodies with ``json.loads``, which lets a lone surrogate or a deeply nested
    value through and turns bad UTF-8 into a bare "There was an error parsing the body". This
    reads a JSON body once, answers 422 in the API's error shape when it is malformed, and
    otherwise replays it unchanged. Routes that decode their own body (the HTTP ingest gateway
    with ``loads``, NGSI-LD with orjson and its ProblemDetails) are left out by path, so their
    bodies are decoded once.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        exempt_prefixes: tuple[str, ...] = (),
        exempt_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.exempt_prefixes = exempt_prefixes
        self.exempt_paths = exempt_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._applies(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay_then(b"".join(chunks), message, receive), send)
                return  # the client went away: the app sees the disconnect
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body.strip():
            try:
                if len(body) > THREAD_BYTES:
                    await to_thread.run_sync(_check_body, body)
                else:
                    _check_body(body)
            except MalformedJSON as error:
                answer: dict[str, object] = {"error": error.message}
                if error.details:
                    answer["details"] = error.details
                # 422, as FastAPI answers (and documents on every body route) a body that
                # does not decode; the ingest gateway keeps its documented 400.
                await FastJSONResponse(answer, status_code=422)(scope, receive, send)
                return
        await self.app(scope, _replay_then(body, None, receive), send)

    def _applies(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] not in _UNSAFE:
            return False
        path = scope.get("path", "")
        if path in self.exempt_paths or path.startswith(self.exempt_prefixes):
            return False
        for name, value in scope.get("headers", []):
            if name == b"content-type":
                return _is_json(value)
        return False  # FastAPI reads a body without a content type as bytes, not JSON


def _check_body(body: bytes) -> None:
    # No NUL: every one of these routes stores text, and PostgreSQL refuses NUL in text.
    loads(body, allow_nul=False)


def _replay_then(body: bytes, pending: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that gives the body read so far, then what was pending, then the rest."""
    queue: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if pending is not None:
        queue = [{"type": "http.request", "body": body, "more_body": True}, pending]

    async def replay() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replay

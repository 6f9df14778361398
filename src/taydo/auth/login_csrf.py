"""Login CSRF: a page from another site must not be able to log a browser in.

Logging in starts the session whose CSRF token every later form carries, so the login form
cannot carry that token. Without a check of its own, a page elsewhere can POST a known
account's name and password to ``/login`` and the victim's browser comes back logged in as
the attacker (what they then type goes into the attacker's account).

Two checks, either of which refuses the forgery:

* **Origin**: a browser sends ``Origin`` (or at least ``Referer``) on a form POST; when one is
  present it must name this server (its ``Host``, or the host of ``public_base_url`` behind
  a reverse proxy). ``Origin: null`` (sandboxed frames, some redirects) is refused.
* **A pre-session token** (double submit, signed): ``GET /login`` sets a random
  ``taydo_login`` cookie (HttpOnly, SameSite=Strict, path ``/login``) and puts
  ``HMAC(secret, "login:" + cookie)`` in the form. The POST must bring both and they must
  match. Another site can neither read the cookie nor compute the HMAC, and SameSite=Strict
  keeps the cookie off a cross-site POST altogether.

The JSON login (``POST /api/v1/auth/login``) is used by scripts that send no ``Origin`` and
hold no form; it gets the Origin check (a cross-site ``fetch`` always sends ``Origin``).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request, Response

from taydo.core.runtime import runtime_of

__all__ = [
    "LOGIN_COOKIE",
    "LOGIN_COOKIE_SECONDS",
    "LoginToken",
    "form_token",
    "same_origin",
    "token_matches",
]

LOGIN_COOKIE = "taydo_login"
LOGIN_COOKIE_SECONDS = 12 * 3600  # a login page left open all shift still works


def _sign(secret_key: str, nonce: str) -> str:
    return hmac.new(secret_key.encode(), b"login:" + nonce.encode(), "sha256").hexdigest()


def _secret(request: Request) -> str:
    return str(runtime_of(request.app).settings.secret_key.get_secret_value())


@dataclass(frozen=True)
class LoginToken:
    nonce: str  # the cookie's value
    token: str  # the form field's value

    def set_cookie(self, request: Request, response: Response) -> None:
        response.set_cookie(
            LOGIN_COOKIE,
            self.nonce,
            max_age=LOGIN_COOKIE_SECONDS,
            path="/login",
            httponly=True,
            samesite="strict",
            secure=runtime_of(request.app).settings.cookie_secure,
        )


def form_token(request: Request) -> LoginToken:
    """The token for a login form: the request's ``taydo_login`` cookie kept, or a new one."""
    nonce = request.cookies.get(LOGIN_COOKIE) or ""
    if not 32 <= len(nonce) <= 64:
        nonce = secrets.token_urlsafe(32)
    return LoginToken(nonce, _sign(_secret(request), nonce))


def token_matches(request: Request, sent: str) -> bool:
    """Whether the form's token belongs to the request's ``taydo_login`` cookie."""
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not nonce or not sent:
        return False
    expected = _sign(_secret(request), nonce)
    return hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode())


def _hosts(request: Request) -> set[str]:
    own = {request.headers.get("host", "").lower()}
    public = urlsplit(runtime_of(request.app).settings.public_base_url).netloc.lower()
    if public:
        own.add(public)
    own.discard("")
    return own


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site (``Origin``, else
    ``Referer``); True when it says this site or says nothing (scripts, old clients)."""
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if not referer:
            return True
        origin = referer
    if origin.strip().lower() == "null":
        return False
    return urlsplit(origin.strip()).netloc.lower() in _hosts(request)

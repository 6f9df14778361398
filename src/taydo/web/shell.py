"""The console shell: templates, the page guard, navigation and the common page context.

Every domain keeps its screens in ``src/taydo/<domain>/templates/<domain>/``, declares that
folder and its navigation entries in its ``Domain`` (``taydo.core.plugins``), and renders them
with :func:`render`, so all pages share one layout, one language switch and one navigation.
The kit knows no domain: the composition root hands it the registered domains (``Shell.of``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from taydo.core import clock
from taydo.core.access import PERMISSIONS, ROLES, Principal
from taydo.core.errors import Forbidden, Unauthenticated
from taydo.core.plugins import Domain, NavItem
from taydo.core.runtime import runtime_of
from taydo.web.i18n import LOCALES, locale_of, pick, translations
from taydo.web.words import Vocabulary, said, word_function

__all__ = ["STATIC_DIR", "Shell", "asset_url", "page", "render"]

KIT_TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"


@dataclass(frozen=True)
class Shell:
    """The console of one app: where templates are found and what the navigation holds."""

    template_dirs: tuple[Path, ...]
    navigation: tuple[NavItem, ...]

    @classmethod
    def of(cls, domains: list[Domain]) -> Shell:
        """The kit's templates first, then each domain's; navigation in its declared order."""
        dirs = [d.templates for d in domains if d.templates is not None]
        items = sorted((n for d in domains for n in d.navigation), key=lambda n: n.order)
        return cls((KIT_TEMPLATES, *dirs), tuple(items))

    @property
    def environment(self) -> Environment:
        return _environment(self.template_dirs)


@cache
def asset_url(name: str) -> str:
    """``/static/<name>?v=<hash>``: the content hash lets browsers cache assets for good."""
    path = STATIC_DIR / name
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10] if path.is_file() else "0"
    return f"/static/{name}?v={digest}"


@cache
def _environment(template_dirs: tuple[Path, ...]) -> Environment:
    env = Environment(
        loader=FileSystemLoader([str(p) for p in template_dirs]),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.globals["asset_url"] = asset_url
    return env


def _principal(request: Request) -> Principal | None:
    authenticate = runtime_of(request.app).authenticate
    return authenticate(request) if authenticate is not None else None


def page(permission: str | None) -> Any:
    """The guard of a console page: ``page("alerts:read")`` or ``page(None)`` for a public page.

    Declared like ``requires()``/``public()`` (the route test reads ``taydo_permission``), but a
    browser that is not logged in is sent to the login page instead of getting a 401.
    """
    if permission is not None and permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def dependency(request: Request) -> Principal | None:
        principal = _principal(request)
        request.state.principal = principal
        if permission is None:
            return principal
        if principal is None:
            if "text/html" in request.headers.get("accept", ""):
                query = f"?{request.url.query}" if request.url.query else ""
                target = quote(request.url.path + query, safe="/")
                raise HTTPException(303, headers={"Location": f"/login?next={target}"})
            raise Unauthenticated("authentication required")
        if not principal.has(permission):
            raise Forbidden(f"your role may not do this ({permission})")
        return principal

    dependency.taydo_permission = permission or "public"  # type: ignore[attr-defined]
    return Depends(dependency)


def _csrf_token(request: Request) -> str:
    """The form token of the logged-in session (provided by the identity domain)."""
    csrf_token = runtime_of(request.app).csrf_token
    return (csrf_token(request) or "") if csrf_token is not None else ""


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """Render a console template in the caller's language with the shell's context."""
    locale = locale_of(request)
    principal: Principal | None = getattr(request.state, "principal", None)
    runtime = runtime_of(request.app)
    shell = runtime.get(Shell)
    settings = runtime.settings
    catalog = translations(locale)
    tz = settings.tz

    def when(value: int | str | datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
        """A time (epoch ms, ISO 8601 text or datetime) in the display time zone."""
        if value is None or value == "":
            return "—"
        if isinstance(value, int):
            moment = clock.ms_to_datetime(value)
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                return value
        else:
            moment = value
        if moment.tzinfo is None:  # SQLite returns naive UTC
            moment = moment.replace(tzinfo=clock.now().tzinfo)
        return moment.astimezone(tz).strftime(fmt)

    def gettext(message: str, **variables: Any) -> str:
        text = catalog.gettext(message)
        return text % variables if variables else text

    def ngettext(singular: str, plural: str, count: int, **variables: Any) -> str:
        text = catalog.ngettext(singular, plural, count)
        return text % {"num": count, **variables}

    values: dict[str, Any] = {
        "request": request,
        "principal": principal,
        "locale": locale,
        "locales": LOCALES,
        "navigation": [
            n for n in shell.navigation if principal is not None and principal.has(n.permission)
        ],
        "current_path": request.url.path,
        "role_label": pick(locale, *ROLES[principal.role]) if principal else "",
        "csrf_token": _csrf_token(request) if principal is not None else "",
        "pick": lambda vi, en=None: pick(locale, vi, en),
        "when": when,
        "wall": request.query_params.get("wall") == "1",
        "word": word_function(runtime.find(Vocabulary), locale),
        "said": lambda text: said(text, locale),
    }
    values.update(context or {})
    template_obj = shell.environment.get_template(template)
    html = template_obj.render(values, gettext=gettext, _=gettext, ngettext=ngettext)
    return HTMLResponse(html, status_code=status)

"""Who may call what: roles, permissions, and the per-route declaration.

Every route declares exactly one of ``requires("<permission>")`` or ``public()``; a test walks
the app's routes and fails on a route that declares neither. Grants live in ``GRANTS`` below,
the one table that says which role holds which permission. Agency scope (an agency officer
writes only their own agencies' objects) is enforced in the services with ``Principal``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request

from taydo.core.errors import Forbidden, Unauthenticated
from taydo.core.principal import GRANTS, PERMISSIONS, ROLES, Authenticator, Principal
from taydo.core.runtime import runtime_of

__all__ = [
    "GRANTS",
    "PERMISSIONS",
    "ROLES",
    "Authenticator",
    "DeclaredRoute",
    "Principal",
    "api_routes",
    "client_address",
    "permission_table",
    "public",
    "requires",
    "route_permission",
]


def _authenticate(request: Request) -> Principal | None:
    authenticator: Authenticator | None = runtime_of(request.app).authenticate
    if authenticator is None:
        return None
    return authenticator(request)


def requires(permission: str) -> Any:
    """Declare that a route needs ``permission``; the dependency yields the ``Principal``."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}: add it to PERMISSIONS")

    def dependency(request: Request) -> Principal:
        principal = _authenticate(request)
        if principal is None:
            raise Unauthenticated("authentication required")
        if not principal.has(permission):
            raise Forbidden(f"your role may not do this ({permission})")
        request.state.principal = principal
        return principal

    dependency.taydo_permission = permission  # type: ignore[attr-defined]
    return Depends(dependency)


def public(*, credentials: bool = True) -> Any:
    """Declare a route open to anyone; yields the ``Principal`` when one is logged in.

    ``credentials=False`` for a route that never reads its caller (Open311, whose clients
    send no session and whose ``api_key`` is a parameter): it yields None without looking at
    the request, so the route pays no credential lookup and no hop to the thread pool (the
    lookup may read the database, so the usual dependency runs in a thread)."""
    if not credentials:

        async def anonymous() -> Principal | None:
            return None

        anonymous.taydo_permission = "public"  # type: ignore[attr-defined]
        return Depends(anonymous)

    def dependency(request: Request) -> Principal | None:
        principal = _authenticate(request)
        request.state.principal = principal
        return principal

    dependency.taydo_permission = "public"  # type: ignore[attr-defined]
    return Depends(dependency)


def client_address(request: Request) -> str | None:
    """The caller's address as the server sees it (for the audit journal and throttling)."""
    return request.client.host if request.client else None


def route_permission(route: Any) -> str | None:
    """The permission a route declared (``"public"`` for open routes), or None if none."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    stack = list(dependant.dependencies)
    while stack:
        dep = stack.pop()
        declared = getattr(dep.call, "taydo_permission", None)
        if declared is not None:
            return str(declared)
        stack.extend(dep.dependencies)
    return None


@dataclass(frozen=True)
class DeclaredRoute:
    path: str  # with the router prefixes, e.g. /api/v1/users/{username}
    methods: frozenset[str]
    permission: str | None  # None: the route declares nothing (a test fails on it)


def api_routes(app: Any) -> list[DeclaredRoute]:
    """Every API route of an app with its declared permission.

    FastAPI ≥ 0.16x keeps included routers as lazy wrappers in ``app.routes``;
    ``iter_route_contexts`` flattens them (older versions list the routes directly).
    """
    from fastapi.routing import APIRoute

    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        contexts: Any = app.routes
    else:
        contexts = iter_route_contexts(app.routes)
    found = []
    for context in contexts:
        if not isinstance(getattr(context, "original_route", context), APIRoute):
            continue
        found.append(
            DeclaredRoute(
                path=str(context.path),
                methods=frozenset(context.methods or ()),
                permission=route_permission(context),
            )
        )
    return found


def permission_table() -> str:
    """The Markdown table of ``GRANTS`` that docs/security.md carries (a test keeps it
    current; ``python -m taydo.core.access`` prints it)."""
    roles = list(ROLES)
    lines = [
        "| permission | what it allows | " + " | ".join(f"`{r}`" for r in roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for permission, what in PERMISSIONS.items():
        marks = " | ".join("✓" if permission in GRANTS[role] else "" for role in roles)
        lines.append(f"| `{permission}` | {what} | {marks} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(permission_table())

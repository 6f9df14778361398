"""Validation of a role and its agencies, shared by users and tokens."""

from __future__ import annotations

from taydo.core.access import ROLES
from taydo.core.errors import Invalid

__all__ = ["check_role", "valid_username"]


def valid_username(username: str) -> bool:
    """1–80 printable characters (no control characters: PostgreSQL refuses NUL in text)."""
    return 0 < len(username) <= 80 and username.isprintable()


def check_role(role: str, agencies: list[str] | None) -> list[str]:
    """The cleaned, sorted agency codes; raises ``Invalid`` for a bad role or scope."""
    if role not in ROLES:
        raise Invalid(f"Vai trò không hợp lệ / unknown role {role!r}", roles=list(ROLES))
    if role == "display":
        # A display is bound to one screen by pairing (taydo.auth.displays), never given a
        # password or a bearer token.
        raise Invalid(
            "Tài khoản màn hình được tạo bằng: taydo display add / "
            "display accounts are made with `taydo display add` or POST /api/v1/displays"
        )
    cleaned = sorted({code.strip() for code in agencies or [] if code.strip()})
    if role == "agency_officer" and not cleaned:
        raise Invalid(
            "Cán bộ sở, ngành phải thuộc ít nhất một cơ quan / "
            "an agency officer must belong to at least one agency"
        )
    if role != "agency_officer" and cleaned:
        # Only an officer's reach is limited by agencies; an operator's or a leader's would be
        # stored and silently ignored, so the one who asked for it is told instead.
        raise Invalid(
            f"Chỉ cán bộ sở, ngành mới gắn với cơ quan / only an agency officer is scoped to "
            f"agencies (the {role} role sees and acts on every agency)",
            agencies=cleaned,
        )
    # Agency codes are not checked against the catalog: accounts may come before the pack.
    return cleaned

"""The people of the demo's stories: the demo accounts (``taydo.auth.service.DEMO_ACCOUNTS``)
and one officer of each agency the directives are given to, every one with a (made-up)
Vietnamese name, so the console shows who acted by name, as it would in a real IOC.

The officers other than the demo's own ``officer`` (Sở Nông nghiệp và Môi trường) are
accounts without a password: they cannot log in; they only sign what the demo seeds."""

from __future__ import annotations

from taydo.auth.service import create_user, list_users
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Conflict

__all__ = ["ADMIN", "LEADER", "OFFICERS", "OPERATOR", "ensure_officers", "officer"]

ADMIN = Principal(username="admin", role="admin")
LEADER = Principal(username="leader", role="leader")
OPERATOR = Principal(username="operator", role="operator")
# agency code → (username, full name) of the officer who answers for it in the demo
OFFICERS: dict[str, tuple[str, str]] = {
    "SNNMT": ("officer", "Phạm Thị Mai"),  # the demo account of the role
    "SXD": ("can-bo-sxd", "Đặng Quốc Huy"),
    "UBND-NINHKIEU": ("can-bo-ninhkieu", "Huỳnh Thị Ngọc Trâm"),
    "CATP": ("can-bo-catp", "Lâm Văn Tài"),
    "TTPVHCC": ("can-bo-ttpvhcc", "Trương Thị Kim Ngân"),
}


def ensure_officers(database: Database) -> int:
    """Create the officers' accounts the database lacks; returns how many were created."""
    existing = {u.username for u in list_users(database)}
    created = 0
    for agency, (username, full_name) in OFFICERS.items():
        if username in existing:
            continue
        try:
            create_user(
                database,
                username,
                "agency_officer",
                agencies=[agency],
                full_name=full_name,
                actor="taydo demo",
            )
        except Conflict:  # created meanwhile by another process
            continue
        created += 1
    return created


def officer(agency: str) -> Principal:
    """The demo's officer of an agency, as the services see them."""
    username = OFFICERS[agency][0]
    return Principal(username=username, role="agency_officer", agencies=frozenset({agency}))

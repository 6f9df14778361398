"""Who is calling: roles, permissions, their grants, and the authenticated ``Principal``.

``GRANTS`` is the one table that says which role holds which permission. Agency scope (an
agency officer writes only their own agencies' objects) is enforced in the services with
``Principal``. Route declarations (``requires``/``public``) are in ``taydo.core.access``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request

__all__ = ["GRANTS", "PERMISSIONS", "ROLES", "Authenticator", "Principal"]

ROLES: dict[str, tuple[str, str]] = {
    # code: (Vietnamese label, English label)
    "admin": ("Quản trị hệ thống", "Administrator"),
    "leader": ("Lãnh đạo", "Leader"),
    "operator": ("Cán bộ vận hành IOC", "IOC operator"),
    "agency_officer": ("Cán bộ sở, ngành, UBND phường/xã", "Agency officer"),
    "viewer": ("Người xem", "Viewer"),
    # A wall screen (taydo.auth.displays): paired once, read-only, revocable.
    "display": ("Màn hình hiển thị", "Display screen"),
}

PERMISSIONS: dict[str, str] = {
    "catalog:read": "read agencies, datasets, entities, areas",
    "catalog:write": "create and change datasets and entities (scoped to own agencies)",
    "catalog:admin": "create and change agencies and areas",
    "observations:read": "read series and latest values",
    "observations:write": "send observations (scoped to own agencies)",
    "quarantine:read": "see rejected input",
    "quarantine:act": "replay or discard rejected input",
    "alerts:read": "see alerts",
    "alerts:act": "acknowledge, resolve, assign and silence alerts",
    "rules:write": "create and change rules and notification routing",
    "connectors:admin": "configure pull connectors",
    "users:admin": "manage users and tokens",
    "audit:read": "read the audit journal",
    "account:self": "see one's own account and change one's own password",
    "ops:metrics": "read the server's Prometheus metrics (/metrics)",
    "incidents:read": "see incidents (agency officers: those of their agencies)",
    "incidents:act": "create incidents, change status, assign, comment, complete SOP steps",
    "incidents:configure": "change SOPs, the SLA table and correlation rules of incidents",
    "directives:read": "see directives and their evidence (agency officers: their agencies')",
    "directives:issue": "issue directives to agencies, accept or return their completion",
    "directives:incident": "issue a directive tied to an open incident one may act on, and "
    "accept or return the completion of directives one issued (the IOC operator on duty; "
    "cancelling stays with directives:issue)",
    "directives:act": "acknowledge, reject, report progress on and complete directives "
    "(scoped to own agencies)",
    "workforce:read": "read the digital workforce (officers: their agencies' rows)",
    "workforce:write": "import digital workforce data (scoped to own agencies)",
    "citizen:read": "see citizen reports with their contacts (scoped to own agencies)",
    "citizen:act": "acknowledge, close, route and merge citizen reports (scoped to own agencies)",
    "citizen:admin": "manage the API keys of apps posting citizen reports",
    "reports:read": "generate reports and see agency scorecards (scoped to own agencies)",
    "reports:schedule": "create and remove scheduled report jobs, see their runs",
    "kpi:read": "see KPIs, their values, the executive dashboard and the DTI",
    "kpi:enter": "enter KPI values with evidence (scoped to own agencies)",
    "kpi:write": "define KPIs and sectors, enter DTI results, run KPI computations",
    "subscriptions:manage": "create, read and change one's own NGSI-LD subscriptions "
    "(their notifications carry the entities one may read to a URL one names)",
}

_READ = {
    "catalog:read",
    "observations:read",
    "alerts:read",
    "quarantine:read",
    "account:self",
    "incidents:read",
    "directives:read",
    "workforce:read",
    "reports:read",
    "kpi:read",
}
GRANTS: dict[str, frozenset[str]] = {
    "admin": frozenset(PERMISSIONS),
    # Citizen reports carry the reporter's contact: not in _READ (viewers and the wall).
    "leader": frozenset(
        _READ
        | {"alerts:act", "incidents:act", "directives:issue", "citizen:read"}
        | {"directives:incident"}
    ),
    "operator": frozenset(
        _READ
        | {"alerts:act", "quarantine:act", "observations:write", "incidents:act"}
        | {"citizen:read", "citizen:act", "reports:schedule", "kpi:enter"}
        | {"subscriptions:manage"}
        | {"directives:incident"}
    ),
    "agency_officer": frozenset(
        _READ
        | {"catalog:write", "observations:write", "quarantine:act", "alerts:act"}
        | {"incidents:act", "directives:act", "workforce:write", "kpi:enter"}
        | {"citizen:read", "citizen:act"}
        | {"subscriptions:manage"}
    ),
    "viewer": frozenset(_READ),
    # What the wall shows and nothing more: the map (catalog), the alerts, the live stream,
    # the focus chart (observations).
    "display": frozenset({"catalog:read", "alerts:read", "observations:read"}),
}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a console user or a machine token."""

    username: str
    role: str
    agencies: frozenset[str] = field(default_factory=frozenset)
    user_id: int | None = None
    token_id: int | None = None

    def has(self, permission: str) -> bool:
        return permission in GRANTS.get(self.role, frozenset())

    @property
    def sees_everything(self) -> bool:
        """Leaders, operators, viewers and admins see every agency's objects."""
        return self.role != "agency_officer"

    def may_write_agency(self, agency_code: str | None) -> bool:
        if self.role in ("admin", "operator"):
            return True
        return self.role == "agency_officer" and agency_code in self.agencies

    def may_see_agency(self, agency_code: str | None) -> bool:
        return self.sees_everything or agency_code in self.agencies


Authenticator = Callable[[Request], "Principal | None"]

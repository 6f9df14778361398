"""Directives tied to an incident, issued from the incident itself: the IOC operator handling
an incident at 2 a.m. assigns a task to an agency without waiting for a leader.

Who may: ``directives:incident`` (operators and leaders; a leader may also issue any directive
through the directives API with ``directives:issue``), on an open incident the caller may act
on. The directive is the directives domain's own (issued through its service, so its
notifications, deadline and on-time rate work as for any other); the one who issued it accepts
or returns its completion (``directives.service.may_follow_up``), cancelling stays with
``directives:issue``. The incident's timeline records the task.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Forbidden, Invalid
from taydo.directives import service as directives
from taydo.incidents.service.common import OPEN_STATUSES, event_of, load, may_write, record

__all__ = ["issue_directive", "linked_directives"]


def _check(database: Database, principal: Principal, incident_id: int) -> None:
    if not principal.has("directives:incident") and not principal.has("directives:issue"):
        raise Forbidden("your role may not do this (directives:incident)")
    with database.session() as session:
        incident = load(session, principal, incident_id)  # agency scope: 404 alike
        if not may_write(principal, incident):
            raise Forbidden("bạn không xử lý sự cố này / you do not handle this incident")
        if incident.status not in OPEN_STATUSES:
            raise Invalid(
                f"sự cố đang ở trạng thái {incident.status}: không giao thêm nhiệm vụ / the "
                f"incident is {incident.status}: no new tasks"
            )


def issue_directive(
    database: Database,
    principal: Principal,
    incident_id: int,
    *,
    title: str,
    agencies: Sequence[str],
    due_at: datetime,
    description: str = "",
    priority: str = "normal",
    address: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the new directive, the incident's ``incidents.changed`` event)."""
    _check(database, principal, incident_id)
    directive = directives.issue(
        database,
        principal,
        title=title,
        agencies=agencies,
        due_at=due_at,
        description=description,
        priority=priority,
        incident_id=incident_id,
        address=address,
    )
    with database.session() as session:
        incident = load(session, principal, incident_id)
        incident.revision += 1
        record(
            session,
            principal.username,
            incident,
            "directive",
            {
                "directive_id": directive["id"],
                "title": directive["title"],
                "agencies": sorted({a.strip() for a in agencies if a.strip()}),
                "due_at": due_at.isoformat(),
            },
            address,
        )
        return directive, event_of(session, incident)


def linked_directives(
    database: Database, principal: Principal, incident_id: int
) -> list[dict[str, Any]]:
    """The directives tied to the incident that the caller may see."""
    return directives.list_directives(database, principal, incident_id=incident_id, limit=100)

"""Correlation: alerts and citizen reports of one ward make or join an incident, by rules that
are data (``CorrelationDef``).

Nothing is kept in memory but the validated rules (labelled with the rules' revision counter,
which each decision reads: see ``correlation_rules_in``): every decision reads the database (open
incidents by their ``open_key``, the alerts through the alerts service, the report
snapshots), so a restart loses nothing. In a cluster every process may hear the same signal;
the unique ``open_key`` lets one of them create the incident and makes the others join it, and
a link is unique per incident.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taydo.alerts.service import list_alerts
from taydo.core import clock
from taydo.core.db import Database
from taydo.core.inputs import parse_moment
from taydo.incidents.models import Incident, IncidentLink, ReportSnapshot
from taydo.incidents.schemas import CorrelationDef, Signal
from taydo.incidents.service.common import event_of, record
from taydo.incidents.service.definitions import correlation_rules, correlation_rules_in
from taydo.incidents.service.incidents import _alert_snapshot, create_in, link_in

__all__ = ["catch_up", "correlate", "remember_report", "take_reports"]

Link = tuple[str, str, dict[str, Any]]


def _snapshot(report: dict[str, Any]) -> tuple[int, datetime, str, dict[str, Any]] | None:
    try:
        report_id = int(report["id"])
        requested = parse_moment(report["requested_at"])
        service_code = str(report["service_code"])
    except (KeyError, TypeError, ValueError):
        return None
    snapshot = {
        k: report.get(k)
        for k in (
            "id",
            "service_code",
            "title",
            "status",
            "agency_code",
            "area_code",
            "lat",
            "lon",
            "requested_at",
            "url",
        )
    }
    return report_id, requested, service_code, snapshot


_SNAPSHOTS = cast(Table, ReportSnapshot.__table__)
_LINKS = cast(Table, IncidentLink.__table__)
# Prebuilt Core statements for the listener's batch (every posted report passes here): the ORM
# loads and unit of work cost more per report than the statements themselves.
_KNOWN_SNAPSHOTS = select(_SNAPSHOTS.c.id).where(
    _SNAPSHOTS.c.id.in_(bindparam("ids", expanding=True))
)
_KNOWN_LINKS = select(_LINKS.c.id, _LINKS.c.ref).where(
    _LINKS.c.kind == "report", _LINKS.c.ref.in_(bindparam("refs", expanding=True))
)
_INSERT_SNAPSHOTS = insert(_SNAPSHOTS)
_UPDATE_SNAPSHOTS = (
    update(_SNAPSHOTS)
    .where(_SNAPSHOTS.c.id == bindparam("b_id"))
    .values(
        service_code=bindparam("service_code"),
        area_code=bindparam("area_code"),
        requested_at=bindparam("requested_at"),
        data=bindparam("data"),
    )
)
_UPDATE_LINKS = (
    update(_LINKS).where(_LINKS.c.id == bindparam("b_id")).values(snapshot=bindparam("snapshot"))
)


def _remember_all(session: Session, reports: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """Keep each report's snapshot and refresh its links' (in order: a later event of the same
    report wins). Two queries for the whole batch — the snapshots and the links already there —
    then one INSERT of the new snapshots and one UPDATE each of the known ones and their links
    (Core statements, several rows each), rather than ORM loads and flushes per report."""
    cleaned = [_snapshot(report) for report in reports]
    ids = sorted({c[0] for c in cleaned if c is not None})
    if not ids:
        return [None if c is None else c[3] for c in cleaned]
    known = set(session.scalars(_KNOWN_SNAPSHOTS, {"ids": ids}))
    links: dict[str, list[int]] = {}
    for link_id, ref in session.execute(_KNOWN_LINKS, {"refs": [str(i) for i in ids]}):
        links.setdefault(ref, []).append(link_id)
    newest: dict[int, dict[str, Any]] = {}  # by report id, the last event's values
    out: list[dict[str, Any] | None] = []
    for report, found_clean in zip(reports, cleaned, strict=True):
        if found_clean is None:
            out.append(None)
            continue
        report_id, requested, service_code, snapshot = found_clean
        newest[report_id] = {
            "service_code": service_code,
            "area_code": report.get("area_code"),
            "requested_at": requested,
            "data": snapshot,
        }
        out.append(snapshot)
    added = [{"id": i, **values} for i, values in newest.items() if i not in known]
    changed = [{"b_id": i, **values} for i, values in newest.items() if i in known]
    relinked = [
        {"b_id": link_id, "snapshot": values["data"]}
        for i, values in newest.items()
        for link_id in links.get(str(i), ())
    ]
    if added:
        session.execute(_INSERT_SNAPSHOTS, added)
    if changed:
        session.execute(_UPDATE_SNAPSHOTS, changed)
    if relinked:
        session.execute(_UPDATE_LINKS, relinked)
    return out


def remember_report(database: Database, report: dict[str, Any]) -> dict[str, Any] | None:
    """Keep the newest snapshot of a citizen report (``citizen.report.*``), and refresh the
    snapshot of every link to it. Returns the cleaned snapshot, None for a malformed event."""
    with database.session() as session:
        return _remember_all(session, [report])[0]


def take_reports(
    database: Database, events: list[tuple[bool, dict[str, Any]]], now: datetime | None = None
) -> list[dict[str, Any]]:
    """A batch of ``citizen.report.*`` events, in the order heard (``created``, report data):
    every snapshot kept in one transaction, then each created report correlated as
    ``correlate`` would; returns the ``incidents.changed`` events to publish.

    Reports arrive in batches (the citizen domain files them by group commit), and one
    transaction for the batch keeps this listener from committing once per report on the
    database the posts are written to. The rules are read in the same transaction, once; a
    report no rule asks for costs nothing more."""
    created: list[dict[str, Any]] = []
    with database.session() as session:
        snapshots = _remember_all(session, [report for _created, report in events])
        for (is_created, _report), snapshot in zip(events, snapshots, strict=True):
            if snapshot is not None and is_created:
                created.append(snapshot)
        rules = correlation_rules_in(session) if created else []
    moment = now or clock.now()
    found: list[dict[str, Any]] = []
    for snapshot in created:
        found += _correlate(database, rules, "report", snapshot, moment)
    return found


def _matches(signal: Signal, kind: str, code: str) -> bool:
    return code in (signal.alert_rules if kind == "alert" else signal.report_services)


def _found(database: Database, signal: Signal, area: str, since: datetime) -> list[Link]:
    """The signals of one kind in the ward: alerts open now or started since, reports since."""
    if signal.alert_rules:
        links: list[Link] = []
        for rule in signal.alert_rules:
            for alert in list_alerts(database, None, area=area, rule=rule, limit=1000):
                started = parse_moment(alert["started_at"])
                if alert["state"] != "resolved" or started >= since:
                    links.append(("alert", str(alert["id"]), _alert_snapshot(alert)))
        return links
    with database.session() as session:
        rows = session.scalars(
            select(ReportSnapshot).where(
                ReportSnapshot.area_code == area,
                ReportSnapshot.service_code.in_(signal.report_services),
                ReportSnapshot.requested_at >= since,
            )
        ).all()
        return [("report", str(r.id), r.data) for r in rows]


def _join(database: Database, key: str, links: list[Link]) -> dict[str, Any] | None:
    """Attach ``links`` to the open incident of ``key``; None when there is none."""
    with database.session() as session:
        incident = session.scalar(select(Incident).where(Incident.open_key == key))
        if incident is None:
            return None
        added = [f"{k}:{r}" for k, r, s in links if link_in(session, incident, k, r, s, "system")]
        if added:
            incident.updated_at, incident.revision = clock.now(), incident.revision + 1
            record(session, "system", incident, "linked", {"links": added, "correlation": key})
        return event_of(session, incident)


def _one_rule(
    database: Database, rule: CorrelationDef, area: str, signal: Link, now: datetime
) -> dict[str, Any] | None:
    key = f"{rule.code}|{area}"
    for _attempt in range(2):
        try:
            joined = _join(database, key, [signal])
        except IntegrityError:
            continue  # another process linked the same signal at the same moment
        if joined is not None:
            return joined
        since = now - timedelta(hours=rule.window_h)
        gathered: list[Link] = []
        for required in rule.require:
            found = _found(database, required, area, since)
            if len(found) < required.min_count:
                return None  # not (yet) every signal the rule asks for
            gathered += found
        if signal not in gathered:
            gathered.append(signal)
        try:
            with database.session() as session:
                incident = create_in(
                    session,
                    actor="system",
                    incident_type=rule.type,
                    title=rule.title,
                    severity=rule.severity,
                    area_code=area,
                    lat=_first(gathered, "lat"),
                    lon=_first(gathered, "lon"),
                    started_at=now,
                    links=gathered,
                    open_key=key,
                    correlation=rule.code,
                )
                return event_of(session, incident)
        except IntegrityError:
            continue  # another process opened it first: join that one
    return None


def _first(links: list[Link], key: str) -> float | None:
    for _kind, _ref, snapshot in links:
        if isinstance(snapshot.get(key), int | float) and not isinstance(snapshot[key], bool):
            return float(snapshot[key])
    return None


def correlate(
    database: Database, kind: str, data: dict[str, Any], now: datetime | None = None
) -> list[dict[str, Any]]:
    """Judge one signal (``kind`` ``alert``: an ``alerts.transition`` alert; ``report``: a
    citizen report snapshot); returns the ``incidents.changed`` events to publish."""
    if not data.get("area_code") or (kind == "alert" and data.get("state") == "resolved"):
        return []  # nothing to judge: the rules are not read
    return _correlate(database, correlation_rules(database), kind, data, now or clock.now())


CATCH_UP_PAGE = 500  # active alerts read per query when the domain starts


def catch_up(database: Database, now: datetime | None = None) -> list[dict[str, Any]]:
    """Judge every active alert once, when the incidents domain starts listening: alert
    transitions published before it listened (the alert runtime starts first and judges the
    backlog at once) or while no process ran are not lost. Linking is idempotent, so an alert
    judged live as well is still one link."""
    rules = correlation_rules(database)
    if not any(rule.enabled for rule in rules):
        return []
    moment = now or clock.now()
    events: list[dict[str, Any]] = []
    offset = 0
    while True:
        alerts = list_alerts(database, None, active=True, limit=CATCH_UP_PAGE, offset=offset)
        for alert in alerts:
            events += _correlate(database, rules, "alert", alert, moment)
        if len(alerts) < CATCH_UP_PAGE:
            return events
        offset += CATCH_UP_PAGE


def _correlate(
    database: Database,
    rules: list[CorrelationDef],
    kind: str,
    data: dict[str, Any],
    moment: datetime,
) -> list[dict[str, Any]]:
    area = data.get("area_code")
    if not area:
        return []
    if kind == "alert":
        if data.get("state") == "resolved":
            return []
        code, signal = str(data.get("rule")), ("alert", str(data["id"]), _alert_snapshot(data))
    else:
        code, signal = str(data.get("service_code")), ("report", str(data["id"]), data)
    events = []
    for rule in rules:
        if rule.enabled and any(_matches(s, kind, code) for s in rule.require):
            event = _one_rule(database, rule, str(area), signal, moment)
            if event is not None:
                events.append(event)
    return events

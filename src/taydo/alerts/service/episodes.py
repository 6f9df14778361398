"""Engine transitions become persisted alert episodes, in one transaction per batch.

One open episode per (rule, target) is guaranteed by the ``open_key`` unique column, so a
restart or a replayed transition continues the open episode rather than opening a second one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taydo.alerts.models import Alert, AlertEvent, Silence
from taydo.alerts.routing import (
    active_silences,
    enqueue,
    matching_routes,
    silence_matches,
)
from taydo.alerts.service.common import (
    RISK_BY_LEVEL,
    alert_dict,
    system_audit,
)
from taydo.catalog.service import dataset_ref, entity_context_in
from taydo.core import clock
from taydo.core.db import Database
from taydo.core.errors import NotFound
from taydo.geo.service import area_name_in
from taydo.rules.choices import severity_rank
from taydo.rules.engine import Transition
from taydo.rules.schemas import RuleDef, ThresholdRule

__all__ = ["apply_transitions", "judged_marks", "open_alerts"]

log = logging.getLogger(__name__)


def _titles(rule: RuleDef | None, t: Transition, where: str | None) -> tuple[str, str]:
    """The alert's title for people: the rule's name, the level reached when the level has
    a name (a threshold's level, a risk level; a rate or an absence has none), and the
    station, ward or dataset by name ("Mực nước lên nhanh — Trạm thủy văn Trần Đề")."""
    name = rule.name if rule else t.rule
    name_en = (rule.name_en or rule.name) if rule else t.rule
    level_vi = level_en = ""
    if isinstance(rule, ThresholdRule):
        for level in rule.levels:
            if level.code == t.level:
                level_vi, level_en = level.label, level.label_en or level.label
    if t.risk_level:
        level_vi, level_en = RISK_BY_LEVEL[t.risk_level].vi, RISK_BY_LEVEL[t.risk_level].en
    where_vi, where_en = (where, where) if where else _unnamed(t.target)
    vi = f"{name}: {level_vi} — {where_vi}" if level_vi else f"{name} — {where_vi}"
    en = f"{name_en}: {level_en} — {where_en}" if level_en else f"{name_en} — {where_en}"
    return vi[:400], en[:400]


# What an alert is about when nothing names it (an area whose units were never loaded, a
# dataset removed since): its code, said as what it is rather than the engine's "area:…".
_UNNAMED = {"area": ("Địa bàn", "Area"), "dataset": ("Bộ dữ liệu", "Dataset")}


def _unnamed(target: str) -> tuple[str, str]:
    kind, _sep, code = target.partition(":")
    words = _UNNAMED.get(kind)
    if words is None or not code:
        return target, target
    return f"{words[0]} {code}", f"{words[1]} {code}"


def _context(session: Session, t: Transition) -> tuple[str | None, str | None]:
    """What the alert is about, by name (a station, a ward, a dataset), and the entity's
    dataset's sector (for titles and routing)."""
    if t.entity_id:
        found = entity_context_in(session, t.entity_id)
        return (found.name, found.sector) if found else (None, None)
    kind, _sep, code = t.target.partition(":")
    if kind == "area" and code:
        area = area_name_in(session, code)
        return (area, None)
    if kind == "dataset" and code:
        try:
            return (dataset_ref(session, code).name, None)
        except NotFound:
            return (None, None)
    return (None, None)


def _notify(session: Session, alert: Alert, event: str, silences: list[Silence]) -> None:
    if alert.silenced or silence_matches(silences, alert):
        alert.silenced = True
        return
    payload = {"event": event, "alert": alert_dict(alert)}
    channels = [code for route in matching_routes(session, alert) for code in route.channels]
    if channels:
        enqueue(session, alert, channels, event, payload)
        alert.last_notified_at = clock.now()


@dataclass(frozen=True, slots=True)
class _Batch:
    """What every transition of one batch shares: its session, its clock reading, the silences."""

    session: Session
    now: datetime
    silences: list[Silence]


def apply_transitions(
    database: Database, transitions: Sequence[Transition], rules: dict[str, RuleDef]
) -> list[dict[str, Any]]:
    """Persist transitions in one transaction; returns the alerts that changed."""
    changed: list[dict[str, Any]] = []
    now = clock.now()
    with database.session() as session:
        batch = _Batch(session, now, active_silences(session, now))
        for t in transitions:
            alert = _apply(batch, t, rules.get(t.rule))
            if alert is not None:
                changed.append(alert_dict(alert))
        _mark(session, transitions, rules)
    return changed


_JUDGED_KINDS = frozenset({"threshold", "rate"})
# The mark only moves forward (a transition's point is newer than every point judged before
# it on that series; ``max`` also keeps a replayed batch from moving it back).
_MARK_SQL = {
    "postgresql": "INSERT INTO alert_marks (series_id, ts) VALUES (:s, :t) ON CONFLICT "
    "(series_id) DO UPDATE SET ts = GREATEST(alert_marks.ts, EXCLUDED.ts)",
    "sqlite": "INSERT INTO alert_marks (series_id, ts) VALUES (:s, :t) ON CONFLICT "
    "(series_id) DO UPDATE SET ts = max(alert_marks.ts, excluded.ts)",
}
_MARKS = text("SELECT series_id, ts FROM alert_marks WHERE series_id IN :ids").bindparams(
    bindparam("ids", expanding=True)
)


def _mark(session: Session, transitions: Sequence[Transition], rules: dict[str, RuleDef]) -> None:
    """The series' judged marks, in the transaction of their transitions (see JudgedMark):
    of the rules judged point by point only (an absence alert's time is the clock's, not a
    point's)."""
    newest: dict[int, int] = {}
    for t in transitions:
        rule = rules.get(t.rule)
        if rule is None or rule.kind not in _JUDGED_KINDS or t.series_id is None:
            continue
        if t.ts > newest.get(t.series_id, -(2**62)):
            newest[t.series_id] = t.ts
    if not newest:
        return
    statement = text(_MARK_SQL[session.get_bind().dialect.name])
    # in series order: two transactions marking the same series never wait on each other
    session.execute(statement, [{"s": s, "t": ts} for s, ts in sorted(newest.items())])


def judged_marks(database: Database, series_ids: list[int]) -> dict[int, int]:
    """Series id → the time of the newest point whose judgement changed its alerts (only
    series that have one)."""
    found: dict[int, int] = {}
    with database.engine.connect() as connection:
        for start in range(0, len(series_ids), 500):
            rows = connection.execute(_MARKS, {"ids": series_ids[start : start + 500]})
            found.update((int(series_id), int(ts)) for series_id, ts in rows)
    return found


def _apply(batch: _Batch, t: Transition, rule: RuleDef | None) -> Alert | None:
    """One transition against the (rule, target) open episode; the alert if it changed."""
    key = f"{t.rule}|{t.target}"
    alert = batch.session.scalar(select(Alert).where(Alert.open_key == key))
    if t.action == "clear":
        return _resolve(batch, alert, t) if alert is not None else None
    if alert is None:
        opened = _open(batch, key, t, rule)
        if opened is not None:
            return opened
        # Opened by another process meanwhile (a cluster's hand-over): continue that one.
        alert = batch.session.scalar(select(Alert).where(Alert.open_key == key))
        if alert is None:
            return None
    if alert.level == t.level and alert.severity == t.severity:
        alert.value = t.value  # the same episode goes on (e.g. after a restart)
        return None
    return _change_level(batch, alert, t, rule)


def _resolve(batch: _Batch, alert: Alert, t: Transition) -> Alert:
    """The condition cleared: the episode is resolved by the system and closes its open key."""
    now = batch.now
    alert.state, alert.open_key = "resolved", None
    alert.resolved_at, alert.resolved_by = now, "system"
    alert.value = t.value if t.value is not None else alert.value
    alert.updated_at, alert.revision = now, alert.revision + 1
    batch.session.add(AlertEvent(alert_id=alert.id, at=now, event="cleared", value=t.value))
    system_audit(
        batch.session,
        alert,
        "alert.resolve",
        {"rule": t.rule, "target": t.target, "auto": True},
    )
    _notify(batch.session, alert, "resolved", batch.silences)
    return alert


def _open(batch: _Batch, key: str, t: Transition, rule: RuleDef | None) -> Alert | None:
    """No open episode for (rule, target): a new one starts firing. None when another
    process opened it first (PostgreSQL: the insert runs in a savepoint, so the rest of the
    batch stands; one SQLite database has one process judging it)."""
    session, now = batch.session, batch.now
    name, sector = _context(session, t)
    title, title_en = _titles(rule, t, name)
    alert = Alert(
        rule_code=t.rule,
        rule_kind=rule.kind if rule else "",
        target=t.target,
        open_key=key,
        state="firing",
        severity=t.severity,
        level=t.level,
        risk_level=t.risk_level,
        value=t.value,
        series_id=t.series_id,
        entity_id=t.entity_id,
        metric=t.metric,
        area_code=t.area_code,
        agency_code=t.agency_code,
        sector=sector,
        public=bool(rule and rule.public),
        silenced=False,
        title=title,
        title_en=title_en,
        started_at=now,
        updated_at=now,
        escalation_step=0,
        revision=1,
    )
    postgres = session.get_bind().dialect.name == "postgresql"
    try:
        with session.begin_nested() if postgres else nullcontext():
            session.add(alert)
            session.flush()
    except IntegrityError:
        log.info("alert %s was opened by another process first; continuing it", key)
        return None
    session.add(
        AlertEvent(
            alert_id=alert.id,
            at=now,
            event="fired",
            severity=t.severity,
            level=t.level,
            value=t.value,
        )
    )
    system_audit(
        session,
        alert,
        "alert.fire",
        {"rule": t.rule, "target": t.target, "level": t.level},
    )
    _notify(session, alert, "fired", batch.silences)
    return alert


def _change_level(batch: _Batch, alert: Alert, t: Transition, rule: RuleDef | None) -> Alert:
    """The open episode moves to another level: escalated (notified again) or eased."""
    session, now = batch.session, batch.now
    rising = severity_rank(t.severity) > severity_rank(alert.severity)
    name, _sector = _context(session, t)
    alert.title, alert.title_en = _titles(rule, t, name)
    alert.severity, alert.level, alert.value = t.severity, t.level, t.value
    alert.risk_level = t.risk_level or alert.risk_level
    alert.updated_at, alert.revision = now, alert.revision + 1
    session.add(
        AlertEvent(
            alert_id=alert.id,
            at=now,
            event="escalated" if rising else "eased",
            severity=t.severity,
            level=t.level,
            value=t.value,
        )
    )
    if rising:  # a higher level is news again, even if acknowledged
        alert.state = "firing"
        alert.escalation_step = 0
        _notify(session, alert, "escalated", batch.silences)
    return alert


def open_alerts(database: Database) -> list[dict[str, Any]]:
    with database.session() as session:
        rows = session.scalars(select(Alert).where(Alert.open_key.is_not(None))).all()
        return [alert_dict(row) | {"rule_code": row.rule_code} for row in rows]

"""The data that drives incidents: SOPs per type, the SLA table, correlation rules. Saved from
a pack's ``incidents.yaml`` or the API, validated when saved, journalled."""

from __future__ import annotations

import json
import threading
import weakref
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import Text, cast, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from taydo.auth import journal
from taydo.core import clock
from taydo.core.db import Database
from taydo.core.errors import Invalid, NotFound
from taydo.incidents.models import (
    RULES_CHANGED,
    CorrelationRevision,
    CorrelationRule,
    IncidentStep,
    SlaEntry,
    SopDefinition,
)
from taydo.incidents.schemas import CorrelationDef, SlaRow, SopDef, SopStep
from taydo.rules.choices import severity_rank

__all__ = [
    "PACK_FILE",
    "correlation_rules",
    "correlation_rules_in",
    "delete_correlation",
    "get_sop",
    "instantiate",
    "list_correlations",
    "list_sla",
    "list_sops",
    "load_incidents_pack",
    "parse_pack",
    "save_all",
    "save_correlation",
    "save_sla",
    "save_sop",
    "sla_hours",
    "sop_in",
]

PACK_FILE = "incidents.yaml"


def _invalid(kind: str, exc: ValidationError) -> Invalid:
    errors = [
        {"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]} for e in exc.errors()[:20]
    ]
    return Invalid(f"{kind} không hợp lệ / invalid {kind}", errors=errors)


def _audit(session: Session, actor: str, action: str, object_id: str, summary: Any) -> None:
    journal.record(
        session,
        actor=actor,
        action=action,
        object_type="incident_config",
        object_id=object_id,
        summary=summary,
    )


# -- SOPs ------------------------------------------------------------------------------------
def save_sop(database: Database, sop: SopDef, *, actor: str, source: str = "api") -> bool:
    """Insert or replace the SOP of ``sop.type``; False when nothing changed."""
    definition = sop.model_dump(mode="json", exclude_none=True)
    with database.session() as session:
        found = session.get(SopDefinition, sop.type)
        if found is not None and found.definition == definition:
            return False
        if found is None:
            found = SopDefinition(type=sop.type, definition=definition)
            session.add(found)
        found.definition, found.source, found.updated_at = definition, source, clock.now()
        _audit(session, actor, "incident.sop.saved", sop.type, {"steps": len(sop.steps)})
        return True


def sop_in(session: Session, incident_type: str) -> SopDef | None:
    found = session.get(SopDefinition, incident_type)
    return SopDef.model_validate(found.definition) if found is not None else None


def get_sop(database: Database, incident_type: str) -> dict[str, Any]:
    with database.session() as session:
        found = session.get(SopDefinition, incident_type)
        if found is None:
            raise NotFound(f"không có quy trình / no SOP for type {incident_type!r}")
        return {**found.definition, "source": found.source}


def list_sops(database: Database) -> list[dict[str, Any]]:
    with database.session() as session:
        rows = session.scalars(select(SopDefinition).order_by(SopDefinition.type)).all()
        return [{**r.definition, "source": r.source} for r in rows]


def _applies(step: SopStep, severity: str, area_code: str | None) -> bool:
    when = step.when
    if when.min_severity and severity_rank(severity) < severity_rank(when.min_severity):
        return False
    return not (when.areas and area_code not in when.areas)


def instantiate(
    session: Session,
    incident_id: int,
    sop: SopDef,
    *,
    severity: str,
    area_code: str | None,
    started_at: datetime,
) -> int:
    """The SOP's steps that apply (conditions by severity and area) onto the incident."""
    position = 0
    for step in sop.steps:
        if not _applies(step, severity, area_code):
            continue
        position += 1
        session.add(
            IncidentStep(
                incident_id=incident_id,
                position=position,
                code=step.code,
                title=step.title,
                title_en=step.title_en,
                role=step.role,
                agency_code=step.agency,
                fields=[f.model_dump(mode="json") for f in step.fields],
                due_at=(
                    started_at + timedelta(minutes=step.deadline_min) if step.deadline_min else None
                ),
                status="pending",
                data={},
                warned=False,
                overdue=False,
            )
        )
    return position


# -- SLA -------------------------------------------------------------------------------------
def save_sla(database: Database, rows: list[SlaRow], *, actor: str) -> int:
    """Replace the whole SLA table (it is small and read as one)."""
    keys = [(r.type, r.severity) for r in rows]
    if len(keys) != len(set(keys)):
        raise Invalid("bảng SLA lặp dòng / the SLA table repeats a (type, severity)")
    with database.session() as session:
        session.execute(delete(SlaEntry))
        session.add_all(SlaEntry(type=r.type, severity=r.severity, hours=r.hours) for r in rows)
        _audit(session, actor, "incident.sla.saved", "sla", {"rows": len(rows)})
    return len(rows)


def list_sla(database: Database) -> list[dict[str, Any]]:
    with database.session() as session:
        rows = session.scalars(select(SlaEntry).order_by(SlaEntry.type, SlaEntry.severity)).all()
        return [{"type": r.type, "severity": r.severity, "hours": r.hours} for r in rows]


def sla_hours(session: Session, incident_type: str, severity: str) -> float | None:
    """The most specific row: (type, severity), (type, *), (*, severity), (*, *)."""
    rows = {
        (r.type, r.severity): r.hours
        for r in session.scalars(
            select(SlaEntry).where(SlaEntry.type.in_((incident_type, "*")))
        ).all()
    }
    for key in (
        (incident_type, severity),
        (incident_type, "*"),
        ("*", severity),
        ("*", "*"),
    ):
        if key in rows:
            return rows[key]
    return None


# -- correlation rules -----------------------------------------------------------------------
def save_correlation(
    database: Database, rule: CorrelationDef, *, actor: str, source: str = "api"
) -> bool:
    definition = rule.model_dump(mode="json")
    with database.session() as session:
        if session.get(SopDefinition, rule.type) is None:
            raise Invalid(f"không có quy trình cho loại / no SOP for type {rule.type!r}")
        found = session.get(CorrelationRule, rule.code)
        if found is not None and found.definition == definition:
            return False
        if found is None:
            found = CorrelationRule(code=rule.code, definition=definition)
            session.add(found)
        found.definition, found.source, found.updated_at = definition, source, clock.now()
        _audit(session, actor, "incident.correlation.saved", rule.code, {"type": rule.type})
        return True


def delete_correlation(database: Database, code: str, *, actor: str) -> None:
    with database.session() as session:
        found = session.get(CorrelationRule, code)
        if found is None:
            raise NotFound(f"không có quy tắc liên kết / no correlation rule {code!r}")
        session.delete(found)
        _audit(session, actor, "incident.correlation.deleted", code, {})


# The rules as validated, by the stored text they came from: decoding and validating each
# rule again cost more than the rest of a report's correlation. Keyed by the text itself, so
# a transaction that cannot use the revision cache below still validates a rule set once.
_VALIDATED: dict[tuple[tuple[str, str], ...], tuple[CorrelationDef, ...]] = {}
_VALIDATED_LOCK = threading.Lock()
_VALIDATED_MAX = 8  # a few databases (tests, a cluster's schemas); old sets are dropped

# The validated rules per database engine, labelled with the ``incident_correlation_revision``
# counter they were read at. Every citizen report batch and alert transition asks for the
# rules; with this cache that is one primary-key read instead of reading every rule's text.
# Every rule write raises the counter in its own transaction (the mapper events in
# ``taydo.incidents.models``), whichever process makes it — the API, the CLI in a process of
# its own, a pack load — so the next read after its commit, in every process, sees it.
_BY_REVISION: weakref.WeakKeyDictionary[Engine, tuple[int, tuple[CorrelationDef, ...]]] = (
    weakref.WeakKeyDictionary()
)


def _validated_in(session: Session) -> tuple[CorrelationDef, ...]:
    text = cast(CorrelationRule.definition, Text)
    key = tuple(
        (str(code), str(definition))
        for code, definition in session.execute(
            select(CorrelationRule.code, text).order_by(CorrelationRule.code)
        )
    )
    found = _VALIDATED.get(key)
    if found is None:
        found = tuple(
            CorrelationDef.model_validate(json.loads(definition)) for _code, definition in key
        )
        with _VALIDATED_LOCK:
            if len(_VALIDATED) >= _VALIDATED_MAX:
                _VALIDATED.clear()
            _VALIDATED[key] = found
    return found


def _engine(session: Session) -> Engine | None:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else getattr(bind, "engine", None)


def correlation_rules_in(session: Session) -> list[CorrelationDef]:
    """The correlation rules as the caller's transaction sees them, ordered by code."""
    if session.info.get(RULES_CHANGED):  # changed in this very transaction: never cached
        return list(_validated_in(session))
    revision = session.scalar(
        select(CorrelationRevision.revision).where(CorrelationRevision.id == 1)
    )
    engine = _engine(session)
    if revision is None or engine is None:  # no counter row: nothing to label a copy with
        return list(_validated_in(session))
    cached = _BY_REVISION.get(engine)
    if cached is not None and cached[0] == revision:
        return list(cached[1])
    # Read after the revision: a rule committed in between is then newer than the label, and
    # the next read reads again (never an old copy under a new label).
    found = _validated_in(session)
    with _VALIDATED_LOCK:
        _BY_REVISION[engine] = (revision, found)
    return list(found)


def correlation_rules(database: Database) -> list[CorrelationDef]:
    with database.session() as session:
        return correlation_rules_in(session)


def list_correlations(database: Database) -> list[dict[str, Any]]:
    with database.session() as session:
        rows = session.scalars(select(CorrelationRule).order_by(CorrelationRule.code)).all()
        return [{**r.definition, "source": r.source} for r in rows]


# -- the pack file ---------------------------------------------------------------------------
def parse_pack(text: str) -> tuple[list[SopDef], list[SlaRow], list[CorrelationDef]]:
    """``incidents.yaml``: ``sops``, ``sla`` and ``correlation`` lists, each validated."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Invalid(f"YAML không đọc được / unreadable YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise Invalid("incidents.yaml holds a mapping with sops, sla and correlation")
    unknown = set(data) - {"sops", "sla", "correlation"}
    if unknown:
        raise Invalid(f"incidents.yaml: unknown keys {sorted(unknown)}")
    parsed: dict[str, list[Any]] = {}
    for key, model in (("sops", SopDef), ("sla", SlaRow), ("correlation", CorrelationDef)):
        items = data.get(key) or []
        if not isinstance(items, list):
            raise Invalid(f"incidents.yaml: {key} is a list")
        try:
            parsed[key] = [model.model_validate(item) for item in items]
        except ValidationError as exc:
            raise _invalid(key, exc) from exc
    return parsed["sops"], parsed["sla"], parsed["correlation"]


def load_incidents_pack(database: Database, pack: Any) -> int:
    """Load a pack's ``incidents.yaml`` (idempotent); returns the definitions that changed."""
    path = Path(pack.data_dir) / PACK_FILE
    if not path.exists():
        return 0
    sops, sla, rules = parse_pack(path.read_text(encoding="utf-8"))
    return save_all(database, sops, sla, rules, actor=f"pack:{pack.name}", source=pack.name)


def save_all(
    database: Database,
    sops: list[SopDef],
    sla: list[SlaRow],
    rules: list[CorrelationDef],
    *,
    actor: str,
    source: str,
) -> int:
    """Save what an ``incidents.yaml`` holds; returns how many definitions changed (0 when
    loaded again unchanged). An empty ``sla`` leaves the table as it is."""
    changed = sum(save_sop(database, s, actor=actor, source=source) for s in sops)
    wanted = sorted((r.type, r.severity, r.hours) for r in sla)
    if sla and sorted(tuple(r.values()) for r in list_sla(database)) != wanted:
        changed += save_sla(database, sla, actor=actor)
    changed += sum(save_correlation(database, r, actor=actor, source=source) for r in rules)
    return changed

"""Saving, listing and loading rules; ``load_rules(database, pack)`` reads a pack's rules.yaml.

Every rule is validated by the pydantic models in ``schemas.py`` before it is stored, and
composite rules must name rules that exist. Changes are journalled by the caller's audit hook.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from taydo.core import clock
from taydo.core.db import Database
from taydo.core.errors import Invalid, NotFound
from taydo.rules.models import Rule
from taydo.rules.schemas import CompositeRule, RuleDef

__all__ = [
    "delete_rule",
    "get_rule",
    "list_rules",
    "load_rules",
    "parse_rule",
    "parse_rules_yaml",
    "save_rules",
]

_ADAPTER: TypeAdapter[RuleDef] = TypeAdapter(RuleDef)
AuditHook = Callable[[Session, str, str, dict[str, Any]], None]


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": ".".join(str(p) for p in error["loc"]), "msg": error["msg"]}
        for error in exc.errors(include_url=False, include_input=False)
    ]


def parse_rule(data: Any) -> RuleDef:
    """Validate one rule; raises ``Invalid`` (422) with the reasons."""
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        code = data.get("code") if isinstance(data, dict) else None
        raise Invalid(
            f"quy tắc không hợp lệ / invalid rule {code or ''}".strip(), errors=_errors(exc)
        ) from exc


def parse_rules_yaml(text: str) -> list[RuleDef]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Invalid(f"YAML không đọc được / unreadable YAML: {exc}") from exc
    items = data.get("rules") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise Invalid("rules.yaml must hold a list of rules (or {rules: [...]})")
    return [parse_rule(item) for item in items]


def _dump(rule: RuleDef) -> dict[str, Any]:
    return rule.model_dump(mode="json", by_alias=True)


def save_rules(
    database: Database,
    rules: Sequence[RuleDef],
    *,
    source: str = "api",
    actor: str = "system",
    audit: AuditHook | None = None,
) -> int:
    """Insert or update rules by code (idempotent); returns how many changed."""
    changed = 0
    with database.session() as session:
        existing = {row.code: row for row in session.scalars(select(Rule))}
        known = set(existing) | {rule.code for rule in rules}
        for rule in rules:
            if isinstance(rule, CompositeRule):
                missing = [code for code in rule.rules if code not in known]
                if missing:
                    raise Invalid(
                        f"quy tắc {rule.code} tham chiếu quy tắc không có / refers to unknown "
                        f"rules: {', '.join(missing)}"
                    )
            definition = _dump(rule)
            row = existing.get(rule.code)
            if row is not None and row.definition == definition and row.source == source:
                continue
            if row is None:
                row = Rule(code=rule.code)
                session.add(row)
            row.kind = rule.kind
            row.definition = definition
            row.enabled = rule.enabled
            row.source = source
            row.updated_at = clock.now()
            row.updated_by = actor
            changed += 1
            session.flush()
            if audit is not None:
                audit(session, "rule.save", rule.code, {"kind": rule.kind, "source": source})
    return changed


def list_rules(database: Database, *, include_disabled: bool = True) -> list[RuleDef]:
    with database.session() as session:
        rows = session.scalars(select(Rule).order_by(Rule.code)).all()
    return [parse_rule(row.definition) for row in rows if include_disabled or row.enabled]


def get_rule(database: Database, code: str) -> RuleDef:
    with database.session() as session:
        row = session.scalar(select(Rule).where(Rule.code == code))
    if row is None:
        raise NotFound(f"không có quy tắc / no rule {code!r}")
    return parse_rule(row.definition)


def delete_rule(database: Database, code: str, *, audit: AuditHook | None = None) -> None:
    with database.session() as session:
        row = session.scalar(select(Rule).where(Rule.code == code))
        if row is None:
            raise NotFound(f"không có quy tắc / no rule {code!r}")
        users = [
            r.code
            for r in session.scalars(select(Rule).where(Rule.kind == "composite"))
            if code in r.definition.get("rules", [])
        ]
        if users:
            raise Invalid(f"quy tắc đang được dùng bởi / rule is used by: {', '.join(users)}")
        session.delete(row)
        if audit is not None:
            audit(session, "rule.delete", code, {})


def load_rules(database: Database, pack: Any) -> int:
    """Load ``rules.yaml`` of a pack (a ``taydo.core.plugins.Pack``); idempotent."""
    path = Path(pack.data_dir) / "rules.yaml"
    if not path.exists():
        return 0
    rules = parse_rules_yaml(path.read_text(encoding="utf-8"))
    return save_rules(database, rules, source=pack.name, actor=f"pack:{pack.name}")

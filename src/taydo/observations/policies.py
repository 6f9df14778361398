"""Retention policies as data: read, set and unset them (API, CLI) and load them from a pack.

Scope follows the catalog's: a dataset's policy is changed by whoever may change the
dataset (an agency officer for their own agencies' datasets; anyone else is told the dataset
does not exist, as the catalog does); the default policy (``*``) by administrators (the route
requires ``catalog:admin``; the CLI acts as the system). Every change is journaled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from taydo.auth import journal
from taydo.catalog.service import get_dataset
from taydo.core.db import Database
from taydo.core.errors import Invalid, NotFound
from taydo.core.plugins import Pack
from taydo.core.principal import Principal
from taydo.observations.models import RetentionPolicy
from taydo.observations.retention import DEFAULT_SCOPE, Policy

__all__ = ["list_policies", "load_retention", "set_policy", "unset_policy"]

PACK_FILE = "retention.yaml"


def _shown(row: RetentionPolicy) -> dict[str, str]:
    return Policy(row.raw_days, row.hourly_days, row.daily_days).shown()


def list_policies(database: Database) -> dict[str, Any]:
    """``{"default": {raw, hourly, daily} | None, "datasets": [{dataset, raw, hourly,
    daily}]}``; periods shown as ``2y``, ``90d`` or ``forever``."""
    with database.session() as session:
        rows = session.scalars(select(RetentionPolicy).order_by(RetentionPolicy.scope)).all()
        default = next((r for r in rows if r.scope == DEFAULT_SCOPE), None)
        return {
            "default": _shown(default) if default is not None else None,
            "datasets": [
                {"dataset": r.scope, **_shown(r)} for r in rows if r.scope != DEFAULT_SCOPE
            ],
        }


def _check_scope(database: Database, dataset: str | None, principal: Principal | None) -> str:
    if dataset is None:
        return DEFAULT_SCOPE
    found = get_dataset(database, dataset)  # NotFound for an unknown code
    if principal is not None and not principal.may_write_agency(found["agency"]):
        raise NotFound(f"không tìm thấy bộ dữ liệu / no dataset {dataset!r}")
    return dataset


def set_policy(
    database: Database,
    dataset: str | None,
    data: dict[str, Any],
    principal: Principal | None,
    address: str | None = None,
) -> dict[str, str]:
    """Set the policy of ``dataset`` (None: the default); ``data`` maps tiers to periods
    (``730``, ``"90d"``, ``"2y"``, ``"forever"``; a missing tier is kept forever)."""
    policy = Policy.parse(data)
    scope = _check_scope(database, dataset, principal)
    with database.session() as session:
        row = session.get(RetentionPolicy, scope)
        before = _shown(row) if row is not None else None
        if row is None:
            row = RetentionPolicy(scope=scope)
            session.add(row)
        row.raw_days, row.hourly_days, row.daily_days = policy.raw, policy.hourly, policy.daily
        session.flush()
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="retention.set",
            object_type="retention",
            object_id=scope,
            summary={"before": before, "after": policy.shown()},
            address=address,
        )
    return policy.shown()


def unset_policy(
    database: Database,
    dataset: str | None,
    principal: Principal | None,
    address: str | None = None,
) -> None:
    """Remove a policy: the dataset follows the default again (without a default: kept
    forever). 404 when there was none."""
    scope = _check_scope(database, dataset, principal)
    with database.session() as session:
        row = session.get(RetentionPolicy, scope)
        if row is None:
            raise NotFound(f"không có chính sách lưu trữ / no retention policy for {scope!r}")
        before = _shown(row)
        session.delete(row)
        session.flush()
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="retention.unset",
            object_type="retention",
            object_id=scope,
            summary={"before": before},
            address=address,
        )


def load_retention(database: Database, pack: Pack | Path) -> int:
    """Set the policies a pack's ``retention.yaml`` gives (none without the file); returns
    how many. The file::

        default: {raw: forever, hourly: forever, daily: forever}
        datasets:
          water-level: {raw: 2y, hourly: 10y, daily: forever}
    """
    data_dir = pack.data_dir if isinstance(pack, Pack) else Path(pack)
    path = data_dir / PACK_FILE
    if not path.exists():
        return 0
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise Invalid(f"tệp YAML lỗi / {PACK_FILE} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or set(data) - {"default", "datasets"}:
        raise Invalid(f"{PACK_FILE}: a mapping with 'default' and/or 'datasets'")
    wanted: list[tuple[str | None, Any]] = []
    if data.get("default") is not None:
        wanted.append((None, data["default"]))
    datasets = data.get("datasets") or {}
    if not isinstance(datasets, dict):
        raise Invalid(f"{PACK_FILE}: 'datasets' maps dataset codes to policies")
    wanted.extend(datasets.items())
    for dataset, policy in wanted:
        if not isinstance(policy, dict):
            raise Invalid(f"{PACK_FILE}: the policy of {dataset or 'default'} must be a mapping")
        try:
            set_policy(database, dataset, policy, None)
        except (Invalid, NotFound) as exc:
            raise Invalid(f"{PACK_FILE}, {dataset or 'default'}: {exc.message}") from exc
    return len(wanted)

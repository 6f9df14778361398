"""Metrics the system derives itself (VN_AQI from pollutant series): created on first use,
without a caller to journal, in one transaction for a whole batch."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from taydo.catalog.models import Metric
from taydo.core.db import Database

__all__ = ["ensure_metrics"]


def ensure_metrics(
    database: Database,
    wanted: Sequence[tuple[int, str]],
    *,
    unit: str,
    min_valid: float | None,
    max_valid: float | None,
) -> list[int]:
    """The series id of each (entity_pk, metric name), in order; the missing metrics are
    created with this unit and valid range, all in one transaction (a fresh IOC's first
    pollutant batch names every station: one transaction each held the write lock 200 times
    against the writer)."""
    ids: list[int] = []
    with database.session() as session:
        for entity_pk, name in wanted:
            existing = session.scalar(
                select(Metric.id).where(Metric.entity_pk == entity_pk, Metric.name == name)
            )
            if existing is None:
                row = Metric(
                    entity_pk=entity_pk,
                    name=name,
                    unit=unit,
                    min_valid=min_valid,
                    max_valid=max_valid,
                )
                session.add(row)
                session.flush()
                existing = row.id
            ids.append(int(existing))
    return ids

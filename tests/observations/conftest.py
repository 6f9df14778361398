from __future__ import annotations

from collections.abc import Callable

import pytest

from taydo.catalog.models import Agency, Entity, Metric
from taydo.core import clock
from taydo.core.db import Database

MakeSeries = Callable[..., dict[str, int]]


def make_series(
    database: Database,
    local: str,
    metrics: dict[str, tuple[float | None, float | None]] | None = None,
    *,
    agency: str = "SNNMT",
    entity_type: str = "WaterObserved",
) -> dict[str, int]:
    """An entity with metrics (name → (min_valid, max_valid)); returns name → series id."""
    metrics = metrics if metrics is not None else {"height": (-5.0, 10.0)}
    with database.session() as session:
        owner = session.query(Agency).filter_by(code=agency).one_or_none()
        if owner is None:
            owner = Agency(code=agency, name=f"Cơ quan {agency}", kind="so")
            session.add(owner)
            session.flush()
        entity = Entity(
            entity_id=f"urn:ngsi-ld:{entity_type}:{local}",
            type=entity_type,
            name=local,
            agency_id=owner.id,
            attributes={},
            tags=[],
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        session.add(entity)
        session.flush()
        rows = {
            name: Metric(entity_pk=entity.id, name=name, unit="MTR", min_valid=lo, max_valid=hi)
            for name, (lo, hi) in metrics.items()
        }
        session.add_all(rows.values())
        session.flush()
        return {name: row.id for name, row in rows.items()}


@pytest.fixture
def series_of(database: Database) -> MakeSeries:
    def make(local: str, metrics=None, **kwargs) -> dict[str, int]:  # type: ignore[no-untyped-def]
        return make_series(database, local, metrics, **kwargs)

    return make

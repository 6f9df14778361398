"""Point-in-area from memory: the areas' boundaries as one STRtree of prepared shapes, kept per
database engine and rebuilt when a boundary changes.

Every change of a boundary raises the ``geo_revision`` counter in its own transaction (the
mapper events in ``taydo.geo.models``), whichever process makes it — the API
(``PUT /api/v1/areas/{code}/geometry``) or ``taydo geo import`` in a process of its own, which
has no bus to announce on. So a lookup reads that counter (one primary-key read; a batch of
reports reads it once) and rebuilds its copy when the counter moved: the next lookup after the
commit of a change, in every process, sees the new boundaries. A transaction that itself
changed a boundary (not yet committed, perhaps rolled back) is answered from its own rows and
never cached.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from typing import Any

from shapely import STRtree
from shapely.geometry import Point, shape
from shapely.prepared import prep
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from taydo.geo.models import CHANGED, Area, GeoRevision

__all__ = ["Locator", "locator_in", "revision_in"]


class Locator:
    """The most local area whose boundary covers a point, from rows (code, level, geometry)."""

    def __init__(self, rows: Iterable[tuple[Any, int, dict[str, Any]]], revision: int | None):
        ordered = sorted(rows, key=lambda r: (-r[1], str(r[0])))  # a ward before its province
        self.revision = revision
        self._codes = [str(r[0]) for r in ordered]
        shapes = [shape(r[2]) for r in ordered]
        self._prepared = [prep(s) for s in shapes]
        self._tree = STRtree(shapes)
        # GEOS builds a prepared shape's index lazily: one lookup at a time.
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._codes)

    def __len__(self) -> int:
        return len(self._codes)

    def locate(self, lon: float, lat: float) -> str | None:
        if not self._codes:
            return None
        point = Point(lon, lat)
        with self._lock:
            # Indices in the tree are positions in the sorted list: ascending = most local.
            for index in sorted(int(i) for i in self._tree.query(point)):
                if self._prepared[index].covers(point):
                    return self._codes[index]
        return None


_CACHE: weakref.WeakKeyDictionary[Engine, Locator] = weakref.WeakKeyDictionary()
_BUILDING = threading.Lock()


def revision_in(session: Session) -> int | None:
    """The boundaries' revision as the caller's transaction sees it (None: no counter row)."""
    return session.scalar(select(GeoRevision.revision).where(GeoRevision.id == 1))


def _rows(session: Session) -> list[tuple[Any, int, dict[str, Any]]]:
    return [
        (r[0], r[1], r[2])
        for r in session.execute(
            select(Area.code, Area.level, Area.geometry).where(Area.geometry.is_not(None))
        )
    ]


def _engine(session: Session) -> Engine | None:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else getattr(bind, "engine", None)


def locator_in(session: Session) -> Locator | None:
    """The locator for the caller's transaction: the cached one while the revision it was
    built at is the current one, else a new one (cached for the next callers). None when
    nothing may be cached — this transaction changed a boundary itself, or the counter row is
    missing: the caller then asks the database (``area_for_point_in`` does)."""
    if session.info.get(CHANGED):
        return None
    revision = revision_in(session)
    engine = _engine(session)
    if revision is None or engine is None:
        return None
    cached = _CACHE.get(engine)
    if cached is not None and cached.revision == revision:
        return cached
    with _BUILDING:  # one thread builds; the others wait for its copy
        cached = _CACHE.get(engine)
        if cached is not None and cached.revision == revision:
            return cached
        # Read after the revision: a change committed in between is then newer than the
        # label, and the next lookup rebuilds (never an old copy under a new label).
        built = Locator(_rows(session), revision)
        _CACHE[engine] = built
        return built

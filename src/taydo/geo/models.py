"""Administrative units and their optional geometries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Connection, Float, ForeignKey, String, event, insert, inspect, update
from sqlalchemy.orm import Mapped, Mapper, mapped_column, object_session

from taydo.core.db import Base


class Area(Base):
    """A province or a ward/commune, keyed by its official code (e.g. 92, 31117)."""

    __tablename__ = "areas"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # 'tỉnh', 'thành phố' (province level), 'phường', 'xã', 'đặc khu' (local level)
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column()  # 1 = province, 2 = ward/commune
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("areas.code", ondelete="CASCADE"), nullable=True, index=True
    )
    # GeoJSON geometry (Polygon/MultiPolygon) loaded by `taydo geo import`, and its bounding
    # box so point-in-area tests only the few areas whose box holds the point.
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    min_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    min_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_lat: Mapped[float | None] = mapped_column(Float, nullable=True)


class GeoRevision(Base):
    """One row: a counter raised in the same transaction as every change of a boundary, so a
    process holding areas in memory (``taydo.geo.locator``) sees with one primary-key read that
    its copy is stale — whichever process made the change (the API, `taydo geo import`)."""

    __tablename__ = "geo_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(default=0)


# The one place a boundary change raises the revision: every ORM write of an area's geometry
# (``apply_geometry``: the API, `taydo geo import`), in the flush of its own transaction. The
# session is marked too, so a lookup inside that same uncommitted transaction does not cache
# what may yet be rolled back (``taydo.geo.locator``).
CHANGED = "taydo.geo.changed"


def _geometry_changed(target: Area, *, inserted: bool) -> bool:
    if inserted:
        return target.geometry is not None
    return bool(inspect(target).attrs.geometry.history.has_changes())


def _bump(connection: Connection, target: Area) -> None:
    raised = connection.execute(
        update(GeoRevision).where(GeoRevision.id == 1).values(revision=GeoRevision.revision + 1)
    )
    if raised.rowcount == 0:  # the row was deleted (a test's emptied tables): start again
        connection.execute(insert(GeoRevision).values(id=1, revision=1))
    session = object_session(target)
    if session is not None:
        session.info[CHANGED] = True


@event.listens_for(Area, "after_insert")
def _area_inserted(_mapper: Mapper[Area], connection: Connection, target: Area) -> None:
    if _geometry_changed(target, inserted=True):
        _bump(connection, target)


@event.listens_for(Area, "after_update")
def _area_updated(_mapper: Mapper[Area], connection: Connection, target: Area) -> None:
    if _geometry_changed(target, inserted=False):
        _bump(connection, target)


@event.listens_for(Area, "after_delete")
def _area_deleted(_mapper: Mapper[Area], connection: Connection, target: Area) -> None:
    if target.geometry is not None:
        _bump(connection, target)

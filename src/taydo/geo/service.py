"""Administrative units: loading the official list, geometries, point-in-area, name matching.

The official list (2025 reorganisation: 34 provinces, two levels of local government) comes
from the ``vietnam-provinces`` package, so no network is needed. Codes are kept as the
official zero-padded strings: provinces two digits ('92'), wards/communes five ('31135').
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shapely import STRtree
from shapely.geometry import Point, shape
from shapely.prepared import prep
from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    SQLColumnExpression,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from taydo.core.db import Database
from taydo.core.errors import Invalid, NotFound
from taydo.geo.geojson import parse_polygon
from taydo.geo.locator import locator_in
from taydo.geo.models import Area
from taydo.geo.names import loose_key, name_key, nfc

__all__ = [
    "AREA_KINDS",
    "AreaLocator",
    "apply_geometry",
    "area_code_in",
    "area_for_point",
    "area_for_point_in",
    "area_locator_in",
    "area_name_in",
    "area_name_of",
    "area_names",
    "get_area",
    "list_areas",
    "load_areas",
    "normalize_code",
    "set_area_geometry",
    "within_area",
]

# Kind codes as written in Vietnamese law; the package's 'thành phố trung ương' is shortened
# to 'thành phố' (the five centrally governed cities are the only province-level cities).
AREA_KINDS: dict[str, tuple[int, str]] = {
    "tỉnh": (1, "province"),
    "thành phố": (1, "centrally governed city"),
    "phường": (2, "ward"),
    "xã": (2, "commune"),
    "đặc khu": (2, "special zone"),
}


def normalize_code(code: object) -> str:
    """The official code as text: ints and unpadded strings become '92' / '31135'."""
    text = str(code).strip()
    if text.isdigit():
        if len(text) <= 2:
            return text.zfill(2)
        if len(text) <= 5:
            return text.zfill(5)
    return text


def _official_units() -> list[dict[str, Any]]:
    from vietnam_provinces import Province, Ward  # imported late: it builds large tables

    rows: list[dict[str, Any]] = []
    for province in Province.iter_all():
        kind = "tỉnh" if province.division_type.value == "tỉnh" else "thành phố"
        rows.append(
            {
                "code": f"{int(province.code):02d}",
                "name": nfc(province.name),
                "kind": kind,
                "level": 1,
                "parent_code": None,
            }
        )
    for ward in Ward.iter_all():
        rows.append(
            {
                "code": f"{int(ward.code):05d}",
                # The package spells a few names with a double space ("Xã  Phú Hữu",
                # "Xã  Đại Hải"): stored as such they would never equal a typed name.
                "name": nfc(ward.name),
                "kind": ward.division_type.value,
                "level": 2,
                "parent_code": f"{int(ward.province_code):02d}",
            }
        )
    return rows


_FIELDS = ("name", "kind", "level", "parent_code")


def load_areas(database: Database) -> dict[str, int]:
    """Insert or update every official unit (idempotent); geometries are kept. Names are
    normalised (NFC, whitespace collapsed, trimmed), so loading again also fixes a name an
    older version stored as the package spells it.

    Returns counts ``{"provinces", "wards", "added", "updated"}``.
    """
    official = _official_units()
    with database.session() as session:
        existing = {
            row[0]: tuple(row[1:])
            for row in session.execute(
                select(Area.code, Area.name, Area.kind, Area.level, Area.parent_code)
            )
        }
        new = [u for u in official if u["code"] not in existing]
        changed = [
            u
            for u in official
            if u["code"] in existing and existing[u["code"]] != tuple(u[f] for f in _FIELDS)
        ]
        # One executemany per level (provinces first: wards reference them).
        for level in (1, 2):
            batch = [u for u in new if u["level"] == level]
            if batch:
                session.execute(insert(Area), batch)
        for unit in changed:
            session.execute(
                update(Area).where(Area.code == unit["code"]).values({f: unit[f] for f in _FIELDS})
            )
    provinces = sum(1 for u in official if u["level"] == 1)
    return {
        "provinces": provinces,
        "wards": len(official) - provinces,
        "added": len(new),
        "updated": len(changed),
    }


def area_dict(area: Area, *, geometry: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": area.code,
        "name": area.name,
        "kind": area.kind,
        "level": area.level,
        "parent_code": area.parent_code,
        "has_geometry": area.geometry is not None,
        "bbox": None
        if area.min_lon is None
        else [area.min_lon, area.min_lat, area.max_lon, area.max_lat],
    }
    if geometry:
        out["geometry"] = area.geometry
    return out


def list_areas(
    database: Database,
    *,
    level: int | None = None,
    parent: str | None = None,
    kind: str | None = None,
    q: str | None = None,
    has_geometry: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Areas matching the filters, ordered by code, and the total count."""
    statement = select(Area)
    if level is not None:
        statement = statement.where(Area.level == level)
    if parent is not None:
        statement = statement.where(Area.parent_code == normalize_code(parent))
    if kind is not None:
        statement = statement.where(Area.kind == kind)
    if has_geometry is not None:
        statement = statement.where(
            Area.geometry.is_not(None) if has_geometry else Area.geometry.is_(None)
        )
    with database.session() as session:
        if q:
            # Diacritic- and case-robust search happens in Python: the unit list is small
            # (3,355 rows) and SQL collations differ between SQLite and PostgreSQL.
            wanted, loose = name_key(q), loose_key(q)
            rows = [
                a
                for a in session.scalars(statement.order_by(Area.code))
                if wanted in name_key(a.name) or loose in loose_key(a.name)
            ]
            return [area_dict(a) for a in rows[offset : offset + limit]], len(rows)
        total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        rows = list(session.scalars(statement.order_by(Area.code).limit(limit).offset(offset)))
        return [area_dict(a) for a in rows], total


def area_names(database: Database, parent: str) -> dict[str, str]:
    """Code → name of the areas directly inside ``parent`` (a province's wards): one query of
    two columns, for pages that label rows (no count, no boundaries read)."""
    with database.session() as session:
        rows = session.execute(
            select(Area.code, Area.name)
            .where(Area.parent_code == normalize_code(parent))
            .order_by(Area.code)
        )
        return {str(code): str(name) for code, name in rows}


def get_area(database: Database, code: str, *, geometry: bool = False) -> dict[str, Any]:
    """One area with its parent's name and its children (wards of a province)."""
    with database.session() as session:
        area = session.get(Area, normalize_code(code))
        if area is None:
            raise NotFound(f"không có đơn vị hành chính / no area with code {code!r}")
        out = area_dict(area, geometry=geometry)
        parent = session.get(Area, area.parent_code) if area.parent_code else None
        out["parent_name"] = parent.name if parent else None
        children = session.scalars(
            select(Area).where(Area.parent_code == area.code).order_by(Area.code)
        )
        out["children"] = [area_dict(c) for c in children]
        return out


def set_area_geometry(database: Database, code: str, geometry: Any) -> dict[str, Any]:
    """Set one area's boundary from a GeoJSON geometry (Polygon/MultiPolygon)."""
    try:
        clean, bbox = parse_polygon(geometry)
    except (ValueError, RecursionError) as exc:
        raise Invalid(f"hình học không hợp lệ / invalid geometry: {exc}") from exc
    with database.session() as session:
        area = session.get(Area, normalize_code(code))
        if area is None:
            raise NotFound(f"không có đơn vị hành chính / no area with code {code!r}")
        apply_geometry(area, clean, bbox)
        return area_dict(area)


def apply_geometry(area: Area, geometry: dict[str, Any], bbox: tuple[float, ...]) -> None:
    """Store a checked boundary and its bounding box on an area (caller's session)."""
    area.geometry = geometry
    area.min_lon, area.min_lat, area.max_lon, area.max_lat = bbox


def area_for_point(database: Database, lon: float, lat: float) -> str | None:
    """Code of the most local area whose boundary holds the point, or None."""
    with database.session() as session:
        return area_for_point_in(session, lon, lat)


def area_for_point_in(session: Session, lon: float, lat: float) -> str | None:
    """``area_for_point`` inside the caller's session: from the in-memory locator
    (``taydo.geo.locator``: one read of the boundaries' revision, then no query), or from the
    database when this transaction changed a boundary itself."""
    locator = locator_in(session)
    if locator is not None:
        return locator.locate(lon, lat)
    return _area_for_point_sql(session, lon, lat)


def area_locator_in(session: Session) -> Callable[[float, float], str | None]:
    """Point-in-area for many points in the caller's transaction (a batch of reports): the
    revision is read once, here. Call as ``locate(lon, lat)``."""
    locator = locator_in(session)
    if locator is not None:
        return locator.locate
    return lambda lon, lat: _area_for_point_sql(session, lon, lat)


def _area_for_point_sql(session: Session, lon: float, lat: float) -> str | None:
    """The bounding-box columns narrow the candidates in SQL; shapely then tests exactly."""
    candidates = session.execute(
        select(Area.code, Area.geometry)
        .where(
            Area.geometry.is_not(None),
            Area.min_lon <= lon,
            Area.max_lon >= lon,
            Area.min_lat <= lat,
            Area.max_lat >= lat,
        )
        .order_by(Area.level.desc(), Area.code)
    ).all()
    point = Point(lon, lat)
    for code, geometry in candidates:
        if shape(geometry).covers(point):
            return str(code)
    return None


class AreaLocator:
    """Point-in-area for many points at once (after an import): one STRtree in memory."""

    def __init__(self, database: Database) -> None:
        with database.session() as session:
            rows = list(
                session.execute(
                    select(Area.code, Area.level, Area.geometry).where(Area.geometry.is_not(None))
                )
            )
        # Most local first, so a ward wins over the province that contains it.
        rows.sort(key=lambda r: (-r[1], r[0]))
        self._codes = [str(r[0]) for r in rows]
        shapes = [shape(r[2]) for r in rows]
        self._prepared = [prep(s) for s in shapes]
        self._tree = STRtree(shapes)

    def __bool__(self) -> bool:
        return bool(self._codes)

    def locate(self, lon: float, lat: float) -> str | None:
        point = Point(lon, lat)
        hits = sorted(int(i) for i in self._tree.query(point))
        for index in hits:
            if self._prepared[index].covers(point):
                return self._codes[index]
        return None


def area_code_in(session: Session, code: object) -> str | None:
    """The official code of the area ``code`` names (normalised), in the caller's session;
    None if there is no such area. (``Session.get``: a unit the session has already read
    costs no query, e.g. when a pack files many entities under one ward.)"""
    area = session.get(Area, normalize_code(code))
    return None if area is None else area.code


def area_name_in(session: Session, code: str) -> str | None:
    """The name of the area with this code, in the caller's session; None if there is none."""
    area = session.get(Area, code)
    return None if area is None else area.name


def area_name_of(code: SQLColumnExpression[str | None]) -> ScalarSelect[str]:
    """The name of the area whose code is in ``code`` (a column of the caller's table), as a
    correlated subquery for the caller's SELECT: one query still, without a join on the
    areas table outside this domain. NULL when there is no such area."""
    return select(Area.name).where(Area.code == code).scalar_subquery()


def within_area(code: SQLColumnExpression[str | None], area: object) -> ColumnElement[bool]:
    """A condition on ``code`` (a column of the caller's table): it is the area ``area`` or
    one of the areas directly inside it (a province's wards)."""
    wanted = normalize_code(area)
    inside = select(Area.code).where(Area.parent_code == wanted)
    return or_(code == wanted, code.in_(inside))

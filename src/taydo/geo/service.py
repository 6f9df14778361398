"""Administrative units: loading the official list, geometries, point-in-area, name matching.

The official list (2025 reorganisation: 34 provinces, two levels of local government) comes
from the ``vietnam-provinces`` package, so no network is needed. Codes are kept as the
official zero-padded strings: provinces two digits ('92'), wards/communes five ('31135').
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shapely import STRtree
from shapely.geometry import Point, shape
from shapely.prepared import prep
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from taydo.core.db import Database
from taydo.core.errors import Invalid, NotFound
from taydo.geo.geojson import BoundaryFeature, FeatureProblem, parse_geojson, parse_polygon
from taydo.geo.models import Area
from taydo.geo.names import loose_key, name_key

__all__ = [
    "AREA_KINDS",
    "AreaLocator",
    "ImportReport",
    "area_for_point",
    "area_for_point_in",
    "get_area",
    "import_geojson",
    "list_areas",
    "load_areas",
    "match_area_by_name",
    "normalize_code",
    "set_area_geometry",
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

CODE_PROPERTIES = ("code", "ma", "ma_xa", "maXa", "MA_XA", "ma_tinh", "MA_TINH", "id")
NAME_PROPERTIES = ("name", "ten", "ten_xa", "tenXa", "TEN_XA", "ten_tinh", "TEN_TINH")


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
                "name": province.name,
                "kind": kind,
                "level": 1,
                "parent_code": None,
            }
        )
    for ward in Ward.iter_all():
        rows.append(
            {
                "code": f"{int(ward.code):05d}",
                "name": ward.name,
                "kind": ward.division_type.value,
                "level": 2,
                "parent_code": f"{int(ward.province_code):02d}",
            }
        )
    return rows


_FIELDS = ("name", "kind", "level", "parent_code")


def load_areas(database: Database) -> dict[str, int]:
    """Insert or update every official unit (idempotent); geometries are kept.

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
        _apply(area, clean, bbox)
        return area_dict(area)


def _apply(area: Area, geometry: dict[str, Any], bbox: tuple[float, ...]) -> None:
    area.geometry = geometry
    area.min_lon, area.min_lat, area.max_lon, area.max_lat = bbox


def area_for_point(database: Database, lon: float, lat: float) -> str | None:
    """Code of the most local area whose boundary holds the point, or None.

    The bounding-box columns narrow the candidates in SQL; shapely then tests exactly.
    """
    with database.session() as session:
        return area_for_point_in(session, lon, lat)


def area_for_point_in(session: Session, lon: float, lat: float) -> str | None:
    """``area_for_point`` inside the caller's session."""
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


@dataclass
class ImportReport:
    matched: list[tuple[int, str, str]] = field(default_factory=list)  # index, code, name
    unmatched: list[FeatureProblem] = field(default_factory=list)
    invalid: list[FeatureProblem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "matched": len(self.matched),
            "unmatched": [{"index": p.index, "reason": p.reason} for p in self.unmatched],
            "invalid": [{"index": p.index, "reason": p.reason} for p in self.invalid],
        }


class _NameIndex:
    """Areas by name key, optionally limited to one province."""

    def __init__(self, areas: Iterable[Area]) -> None:
        self.full: dict[str, list[Area]] = defaultdict(list)
        self.short: dict[str, list[Area]] = defaultdict(list)
        self.loose: dict[str, list[Area]] = defaultdict(list)
        for area in areas:
            self.full[name_key(area.name, keep_kind=True)].append(area)
            self.short[name_key(area.name)].append(area)
            self.loose[loose_key(area.name)].append(area)

    def match(self, name: str) -> tuple[Area | None, str]:
        """The one area a name means, or None and why not."""
        for table, key in (
            (self.full, name_key(name, keep_kind=True)),
            (self.short, name_key(name)),
            (self.loose, loose_key(name)),
        ):
            found = table.get(key, [])
            if len(found) == 1:
                return found[0], ""
            if len(found) > 1:
                codes = ", ".join(f"{a.code} {a.name}" for a in found[:5])
                return None, f"name {name!r} is ambiguous ({codes}); use --province or codes"
        return None, f"no area is named {name!r}"


def match_area_by_name(
    session: Session, name: str, *, province: str | None = None
) -> tuple[Area | None, str]:
    """Find the area a (possibly differently written) Vietnamese name refers to."""
    return _name_index(session, province).match(name)


def _name_index(session: Session, province: str | None) -> _NameIndex:
    statement = select(Area)
    if province is not None:
        code = normalize_code(province)
        statement = statement.where((Area.parent_code == code) | (Area.code == code))
    return _NameIndex(session.scalars(statement))


def _property(properties: dict[str, Any], wanted: str | None, defaults: tuple[str, ...]) -> Any:
    for key in (wanted,) if wanted else defaults:
        value = properties.get(key)
        if value is not None and str(value).strip():
            return value
    return None


def import_geojson(
    database: Database,
    source: Path | bytes | str,
    *,
    match: str = "code",
    prop: str | None = None,
    province: str | None = None,
) -> ImportReport:
    """Set area geometries from a GeoJSON file, matching features by code or by name.

    Features that cannot be read or matched are reported (never silently skipped); the
    matched ones are stored in one transaction.
    """
    if match not in ("code", "name"):
        raise Invalid("--match phải là 'code' hoặc 'name' / must be 'code' or 'name'")
    if isinstance(source, Path):
        try:
            raw: bytes | str = source.read_bytes()
        except OSError as exc:
            raise Invalid(f"không đọc được tệp / cannot read {source}: {exc.strerror}") from exc
    else:
        raw = source
    features, invalid = parse_geojson(raw)
    report = ImportReport(invalid=invalid)
    with database.session() as session:
        names = _name_index(session, province) if match == "name" else None
        seen: dict[str, int] = {}
        for feature in features:
            area, reason = _match_feature(session, feature, match, prop, names)
            if area is None:
                report.unmatched.append(FeatureProblem(feature.index, reason, feature.properties))
                continue
            if area.code in seen:
                report.unmatched.append(
                    FeatureProblem(
                        feature.index,
                        f"area {area.code} {area.name} already matched by feature "
                        f"{seen[area.code]}",
                        feature.properties,
                    )
                )
                continue
            seen[area.code] = feature.index
            _apply(area, feature.geometry, feature.bbox)
            report.matched.append((feature.index, area.code, area.name))
    return report


def _match_feature(
    session: Session,
    feature: BoundaryFeature,
    match: str,
    prop: str | None,
    names: _NameIndex | None,
) -> tuple[Area | None, str]:
    defaults = CODE_PROPERTIES if match == "code" else NAME_PROPERTIES
    value = _property(feature.properties, prop, defaults)
    if value is None:
        where = f"property {prop!r}" if prop else "any of " + ", ".join(defaults)
        return None, f"the feature has no {match} ({where}); use --property"
    if match == "code":
        area = session.get(Area, normalize_code(value))
        return (area, "") if area else (None, f"no area with code {value!r}")
    assert names is not None
    return names.match(str(value))

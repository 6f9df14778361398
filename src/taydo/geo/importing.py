"""Importing area boundaries from GeoJSON, matching features to areas by code or by name."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taydo.core.db import Database
from taydo.core.errors import Invalid
from taydo.geo.geojson import BoundaryFeature, FeatureProblem, parse_geojson
from taydo.geo.models import Area
from taydo.geo.names import loose_key, name_key
from taydo.geo.service import apply_geometry, normalize_code

__all__ = [
    "CODE_PROPERTIES",
    "NAME_PROPERTIES",
    "ImportReport",
    "import_geojson",
    "match_area_by_name",
]

# Properties looked at when --property is not given, in order (common in Vietnamese GIS data).
CODE_PROPERTIES = ("code", "ma", "ma_xa", "maXa", "MA_XA", "ma_tinh", "MA_TINH", "id")
NAME_PROPERTIES = ("name", "ten", "ten_xa", "tenXa", "TEN_XA", "ten_tinh", "TEN_TINH")


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
            apply_geometry(area, feature.geometry, feature.bbox)
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
        code = normalize_code(value)
        if not code.isalnum():  # official codes are digits; anything else cannot match
            return None, f"no area with code {value!r}"
        area = session.get(Area, code)
        return (area, "") if area else (None, f"no area with code {value!r}")
    assert names is not None
    return names.match(str(value))

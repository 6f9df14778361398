"""The NGSI-LD query language subset (``q=``) and geo-queries (``georel=``).

q: comparisons ``== != < <= > >=`` (and the pattern operators ``~=``, ``!~=`` with a
regular expression, see ``pattern``) between an attribute (optionally ``attr[key]`` into a
structured value) and a number, a "string", true/false, a date-time, a list ``a,b`` (==/!=)
or a range ``a..b`` (==/!=); ``;`` is and, ``|`` is or, parentheses group; an attribute
alone tests that it exists. Nothing is ever evaluated as code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from shapely.errors import GEOSException
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.pattern import compile_pattern

__all__ = [
    "MISSING", "GeoQuery", "Query", "geometry_of", "parse_geoquery", "parse_q", "parse_scope_q",
    "point_of",
]  # fmt: skip

MAX_Q_LENGTH = 4000
MAX_DEPTH = 16
MISSING = object()
PATTERN_OPS = ("~=", "!~=")  # the value matches (does not match) a regular expression

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<op>==|!~=|!=|<=|>=|~=|<|>)
    | (?P<punct>[;|()])
    | (?P<str>"(?:[^"\\]|\\.)*")
    | (?P<word>[^\s;|()<>=!"~]+)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Comparison:
    attr: str
    key: str | None
    op: str | None  # None: the attribute exists
    values: tuple[Any, ...]  # one value, several (list), or (low, high) with is_range
    is_range: bool = False


@dataclass(frozen=True, slots=True)
class Node:
    kind: str  # "and" | "or"
    children: tuple[Any, ...]


Getter = Callable[[str], Any]  # attribute name → primary value or MISSING


class Query:
    def __init__(self, root: Any) -> None:
        self.root = root

    def attributes(self) -> set[str]:
        found: set[str] = set()

        def walk(node: Any) -> None:
            if isinstance(node, Comparison):
                found.add(node.attr)
            else:
                for child in node.children:
                    walk(child)

        walk(self.root)
        return found

    def matches(self, get: Getter) -> bool:
        return _eval(self.root, get)


def _bad(detail: str) -> NgsiError:
    return NgsiError("BadRequestData", f"q không hợp lệ / invalid q: {detail}")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _bad(f"unexpected character at {position}")
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match.group(kind)))
        position = match.end()
    return out


def _scalar(raw: str) -> Any:
    if raw.startswith('"'):
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise _bad(f"bad string {raw[:40]}") from exc
        return value
    if raw == "true":
        return True
    if raw == "false":
        return False
    try:
        number = float(raw)
    except ValueError:
        return raw  # a date-time or a bare word, compared as text
    if not math.isfinite(number):
        raise _bad(f"number out of range: {raw[:40]}")
    return number


def _split_values(raw: str) -> tuple[tuple[Any, ...], bool]:
    if ".." in raw and not raw.startswith('"'):
        low, _, high = raw.partition("..")
        return (_scalar(low), _scalar(high)), True
    if "," in raw and not raw.startswith('"'):
        return tuple(_scalar(part) for part in raw.split(",")), False
    if raw.startswith('"') and raw.count('"') > 2:
        try:
            parts = orjson.loads(b"[" + raw.encode() + b"]")
        except orjson.JSONDecodeError as exc:
            raise _bad(f"bad list {raw[:40]}") from exc
        return tuple(parts), False
    return (_scalar(raw),), False


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _bad("unexpected end")
        self.i += 1
        return token

    def expression(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise NgsiError("TooComplexQuery", "q nests too deeply")
        children = [self.conjunction(depth)]
        while self.peek() == ("punct", "|"):
            self.take()
            children.append(self.conjunction(depth))
        return children[0] if len(children) == 1 else Node("or", tuple(children))

    def conjunction(self, depth: int) -> Any:
        children = [self.term(depth)]
        while self.peek() == ("punct", ";"):
            self.take()
            children.append(self.term(depth))
        return children[0] if len(children) == 1 else Node("and", tuple(children))

    def term(self, depth: int) -> Any:
        kind, text = self.take()
        if (kind, text) == ("punct", "("):
            inner = self.expression(depth + 1)
            if self.take() != ("punct", ")"):
                raise _bad("missing )")
            return inner
        if kind != "word":
            raise _bad(f"expected an attribute name, got {text[:40]!r}")
        attr, key = text, None
        if "[" in text:
            if not text.endswith("]"):
                raise _bad(f"bad attribute path {text[:40]!r}")
            attr, _, rest = text[:-1].partition("[")
            key = rest
        if not attr or "]" in attr or (key is not None and not key):
            raise _bad(f"bad attribute path {text[:40]!r}")
        nxt = self.peek()
        if nxt is None or nxt[0] != "op":
            return Comparison(attr, key, None, ())
        op = self.take()[1]
        value_kind, raw = self.take()
        if value_kind not in ("word", "str"):
            raise _bad(f"expected a value after {op}")
        # A quoted list "a","b" arrives as several tokens joined by commas.
        while True:
            nxt = self.peek()
            if nxt is None or nxt[0] not in ("word", "str"):
                break
            if not (raw.endswith(",") or nxt[1].startswith(",")):
                break
            raw += self.take()[1]
        if op in PATTERN_OPS:
            # §4.9: the value is a regular expression, matched in linear time (pattern.py)
            text = _scalar(raw) if value_kind == "str" else raw
            if not isinstance(text, str):
                raise _bad(f"{op} needs a pattern")
            return Comparison(attr, key, op, (compile_pattern(text),))
        values, is_range = _split_values(raw)
        if (is_range or len(values) > 1) and op not in ("==", "!="):
            raise _bad(f"a list or range needs == or !=, not {op}")
        return Comparison(attr, key, op, values, is_range)


def parse_q(text: str) -> Query:
    if len(text) > MAX_Q_LENGTH:
        raise NgsiError("TooComplexQuery", f"q is longer than {MAX_Q_LENGTH} characters")
    parser = _Parser(_tokens(text))
    if parser.peek() is None:
        raise _bad("empty")
    root = parser.expression(0)
    if parser.peek() is not None:
        raise _bad(f"unexpected {parser.peek()[1][:40]!r}")  # type: ignore[index]
    return Query(root)


def _plain(value: Any) -> Any:
    if isinstance(value, dict) and "@value" in value:
        return value["@value"]
    return value


def _compare(left: Any, op: str, right: Any) -> bool:
    left = _plain(left)
    if isinstance(left, bool) or isinstance(right, bool):
        if not (isinstance(left, bool) and isinstance(right, bool)):
            return False
    elif not (
        (isinstance(left, int | float) and isinstance(right, int | float))
        or (isinstance(left, str) and isinstance(right, str))
    ):
        return op == "!="
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def _eval(node: Any, get: Getter) -> bool:
    if isinstance(node, Node):
        if node.kind == "and":
            return all(_eval(child, get) for child in node.children)
        return any(_eval(child, get) for child in node.children)
    value = get(node.attr)
    if value is MISSING:
        return False
    if node.key is not None:
        value = value.get(node.key, MISSING) if isinstance(value, dict) else MISSING
        if value is MISSING:
            return False
    if node.op is None:
        return True
    candidates = value if isinstance(value, list) else [value]
    if node.op in PATTERN_OPS:
        texts = [v for v in map(_plain, candidates) if isinstance(v, str)]
        found = any(node.values[0].search(v) for v in texts)
        return bool(texts) and (found if node.op == "~=" else not found)
    if node.is_range:
        low, high = node.values
        inside = any(_compare(v, ">=", low) and _compare(v, "<=", high) for v in candidates)
        return inside if node.op == "==" else not inside
    if node.op == "!=":
        return all(_compare(v, "!=", want) for v in candidates for want in node.values)
    return any(_compare(v, node.op, want) for v in candidates for want in node.values)


# -- geo-queries ------------------------------------------------------------------------

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class GeoQuery:
    relation: str  # near | within | intersects | disjoint | equals | contains | overlaps
    geometry: BaseGeometry
    max_distance: float | None = None
    min_distance: float | None = None
    geoproperty: str = "location"  # the GeoProperty compared (a term of the caller's context)

    @property
    def on_location(self) -> bool:
        """Whether the query is on ``location`` (the catalog's indexed position)."""
        return self.geoproperty in ("location", LOCATION_IRI)

    def bbox(self) -> tuple[float, float, float, float] | None:
        """A lon/lat box that holds every match (for the SQL prefilter), when one exists."""
        if not self.on_location:
            return None  # the catalog indexes the location only
        if self.relation == "near" and self.max_distance is not None:
            point = self.geometry.centroid
            dlat = self.max_distance / 111_000 + 1e-6
            dlon = dlat / max(0.01, math.cos(math.radians(point.y)))
            return (point.x - dlon, point.y - dlat, point.x + dlon, point.y + dlat)
        if self.relation in ("within", "equals"):
            return tuple(self.geometry.bounds)
        return None

    def matches(self, geometry: BaseGeometry, lon: float, lat: float) -> bool:
        if self.relation == "near":
            center = self.geometry.centroid
            distance = haversine_m(center.x, center.y, lon, lat)
            if self.max_distance is not None and distance > self.max_distance:
                return False
            return not (self.min_distance is not None and distance < self.min_distance)
        try:
            if self.relation == "within":
                return bool(geometry.within(self.geometry))
            if self.relation == "intersects":
                return bool(geometry.intersects(self.geometry))
            if self.relation == "disjoint":
                return bool(geometry.disjoint(self.geometry))
            if self.relation == "contains":
                return bool(geometry.contains(self.geometry))
            if self.relation == "overlaps":
                return bool(geometry.overlaps(self.geometry))
            return bool(geometry.equals(self.geometry))
        except GEOSException:
            return False


GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")


_NUMBERS = (int, float)  # built once: ``int | float`` builds a union object at every call


def point_of(value: Any) -> tuple[float, float] | None:
    """(lon, lat) of a valid GeoJSON Point without building a geometry (the common case on
    the write path), None when ``value`` is not a simple Point."""
    if not isinstance(value, dict) or value.get("type") != "Point":
        return None
    coordinates = value.get("coordinates")
    if not isinstance(coordinates, list) or not 2 <= len(coordinates) <= 3:
        return None
    lon, lat = coordinates[0], coordinates[1]
    if not all(isinstance(c, _NUMBERS) and not isinstance(c, bool) for c in coordinates):
        return None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return None
    return float(lon), float(lat)


def geometry_of(value: Any) -> BaseGeometry:
    """A shapely geometry from a GeoJSON geometry; NgsiError when it is not a valid one."""
    if not isinstance(value, dict) or value.get("type") not in GEOMETRY_TYPES:
        raise NgsiError(
            "BadRequestData", f"a GeoJSON geometry needs a type among {', '.join(GEOMETRY_TYPES)}"
        )
    try:
        geometry = shape(value)
    except (GEOSException, ValueError, TypeError, IndexError, AttributeError, KeyError) as exc:
        raise NgsiError("BadRequestData", f"invalid GeoJSON coordinates: {exc}") from exc
    if geometry.is_empty:
        raise NgsiError("BadRequestData", "empty GeoJSON geometry")
    for x, y in _points(geometry):
        if not (math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90):
            raise NgsiError("BadRequestData", "coordinates must be [longitude, latitude] in range")
    return geometry


def _points(geometry: BaseGeometry) -> list[tuple[float, float]]:
    if isinstance(geometry, Point):
        return [(geometry.x, geometry.y)]
    if hasattr(geometry, "geoms"):
        return [p for part in geometry.geoms for p in _points(part)]
    if hasattr(geometry, "exterior"):
        rings = [geometry.exterior, *geometry.interiors]
        return [(c[0], c[1]) for ring in rings for c in ring.coords]
    return [(c[0], c[1]) for c in geometry.coords]


LOCATION_IRI = "https://uri.etsi.org/ngsi-ld/location"
GEORELS = ("near", "within", "intersects", "disjoint", "equals", "contains", "overlaps")
_GEOPROPERTY = re.compile(r"^[^\s<>\"'=;()\[\]\x00-\x1f\x7f]{1,255}$")


def parse_geoquery(
    georel: str, geometry: str | None, coordinates: str | None, geoproperty: str | None = None
) -> GeoQuery:
    """A geo-query (§4.10) from its parameters; ``geoproperty`` names the GeoProperty the
    query applies to (``location`` when not given)."""
    if geoproperty is not None and not _GEOPROPERTY.match(geoproperty):
        raise NgsiError("BadRequestData", f"invalid geoproperty {geoproperty[:80]!r}")
    if not geometry or not coordinates:
        raise NgsiError("BadRequestData", "georel needs geometry and coordinates")
    try:
        coords = orjson.loads(coordinates)
    except orjson.JSONDecodeError as exc:
        raise NgsiError("BadRequestData", "coordinates must be a JSON array") from exc
    shape_ = geometry_of({"type": geometry, "coordinates": coords})
    relation, *modifiers = georel.split(";")
    if relation not in GEORELS:
        raise NgsiError("BadRequestData", f"unsupported georel {relation[:40]!r}")
    max_distance = min_distance = None
    for modifier in modifiers:
        name, _, raw = modifier.partition("==")
        try:
            number = float(raw)
        except ValueError as exc:
            raise NgsiError("BadRequestData", f"bad georel modifier {modifier[:40]!r}") from exc
        if not math.isfinite(number) or number < 0:
            raise NgsiError("BadRequestData", "distances must be finite and ≥ 0 (metres)")
        if name == "maxDistance":
            max_distance = number
        elif name == "minDistance":
            min_distance = number
        else:
            raise NgsiError("BadRequestData", f"bad georel modifier {modifier[:40]!r}")
    if relation == "near" and max_distance is None and min_distance is None:
        raise NgsiError("BadRequestData", "near needs maxDistance or minDistance")
    if relation != "near" and modifiers:
        raise NgsiError("BadRequestData", "maxDistance and minDistance apply to near only")
    return GeoQuery(relation, shape_, max_distance, min_distance, geoproperty or "location")


# -- scope queries ----------------------------------------------------------------------

ScopeTest = Callable[[list[str]], bool]  # an entity's scopes → does it match


def _scope_term(text: str) -> ScopeTest:
    """``/a/b`` (that scope), ``/a/+/c`` (``+``: any one level), ``/a/#`` (``/a`` and all
    below it), ``/#`` (any scope at all)."""
    if not text.startswith("/") or len(text) > 255:
        raise NgsiError("BadRequestData", f"scopeQ: a scope starts with / ({text[:60]!r})")
    parts = text[1:].split("/")
    if any(not p or any(c.isspace() for c in p) for p in parts):
        raise NgsiError("BadRequestData", f"scopeQ: bad scope {text[:60]!r}")
    if "#" in parts[:-1] or any("#" in p and p != "#" for p in parts):
        raise NgsiError("BadRequestData", f"scopeQ: # only ends a scope ({text[:60]!r})")
    prefix = parts[-1] == "#"
    wanted = parts[:-1] if prefix else parts

    def one(scope: str) -> bool:
        have = scope[1:].split("/")
        if len(have) < len(wanted) or (not prefix and len(have) != len(wanted)):
            return False
        return all(w == "+" or w == h for w, h in zip(wanted, have, strict=False))

    return lambda scopes: any(one(s) for s in scopes)


def parse_scope_q(text: str) -> ScopeTest:
    """``scopeQ`` (§4.19): scope terms joined by ``;`` (and) and ``,`` or ``|`` (or),
    parentheses grouping."""
    if not text or len(text) > MAX_Q_LENGTH:
        raise NgsiError("BadRequestData", "scopeQ is empty or too long")
    tokens = [t.strip() for t in re.split(r"([;,|()])", text) if t.strip()]
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        if position >= len(tokens):
            raise NgsiError("BadRequestData", "scopeQ ends too early")
        position += 1
        return tokens[position - 1]

    def expression(depth: int) -> ScopeTest:
        if depth > MAX_DEPTH:
            raise NgsiError("TooComplexQuery", "scopeQ nests too deeply")
        parts = [conjunction(depth)]
        while peek() in (",", "|"):
            take()
            parts.append(conjunction(depth))
        return parts[0] if len(parts) == 1 else (lambda s: any(p(s) for p in parts))

    def conjunction(depth: int) -> ScopeTest:
        parts = [term(depth)]
        while peek() == ";":
            take()
            parts.append(term(depth))
        return parts[0] if len(parts) == 1 else (lambda s: all(p(s) for p in parts))

    def term(depth: int) -> ScopeTest:
        piece = take()
        if piece == "(":
            inner = expression(depth + 1)
            if take() != ")":
                raise NgsiError("BadRequestData", "scopeQ: missing )")
            return inner
        if piece in ";,|)":
            raise NgsiError("BadRequestData", f"scopeQ: unexpected {piece!r}")
        return _scope_term(piece)

    test = expression(0)
    if peek() is not None:
        raise NgsiError("BadRequestData", f"scopeQ: unexpected {peek()!r}")
    return test

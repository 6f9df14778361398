"""The Subscription data type of ETSI GS CIM 009 v1.8 (§5.2.12, NotificationParams §5.2.14,
Endpoint §5.2.15, EntitySelector §5.2.33), validated as the spec says: every refusal is an
``NgsiError`` (``BadRequestData`` unless the spec names another kind), never a crash."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from taydo.ingest.ngsild.entity import check_entity_id, parse_time
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.query import GeoQuery, Query, parse_geoquery, parse_q
from taydo.subscriptions.endpoints import MQTT_SCHEMES, check_mqtt_uri, check_notifier_info

__all__ = [
    "ACCEPTS",
    "FORMATS",
    "SYSTEM_MEMBERS",
    "Selector",
    "SubscriptionSpec",
    "check_subscription",
    "merge_fragment",
]

FORMATS = ("normalized", "keyValues", "concise")
ACCEPTS = ("application/json", "application/ld+json")
# Members the broker writes: a client sending them is told so, not silently ignored.
SYSTEM_MEMBERS = frozenset(
    {"status", "createdAt", "modifiedAt", "timesSent", "lastNotification", "lastFailure"}
    | {"lastSuccess"}
)
NOTIFICATION_SYSTEM = frozenset(
    {"status", "timesSent", "lastNotification", "lastFailure", "lastSuccess"}
)
MAX_SELECTORS = 100
MAX_NAMES = 100
MAX_NAME = 256
MAX_PATTERN = 256
MAX_INFO = 20
_BAD_NAME = re.compile(r"[\s<>\"'=;()\[\]\x00-\x1f\x7f]")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")  # RFC 9110 token
# Headers the notifier sets itself: a receiverInfo entry may not replace them.
_RESERVED_HEADERS = frozenset({"content-type", "content-length", "host", "link"})


def _bad(detail: str) -> NgsiError:
    return NgsiError("BadRequestData", detail)


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_NAME or _BAD_NAME.search(value):
        raise _bad(f"{what} không hợp lệ / invalid {what}: {str(value)[:80]!r}")
    return value


def _names(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _bad(f"{what} phải là mảng tên khác rỗng / must be a non-empty array of names")
    if len(value) > MAX_NAMES:
        raise _bad(f"{what}: at most {MAX_NAMES} names")
    names = [_name(v, what) for v in value]
    if len(set(names)) != len(names):
        raise _bad(f"{what}: a name appears twice")
    return names


def _positive(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad(f"{what} phải là số / must be a number")
    if value <= 0:
        raise _bad(f"{what} phải lớn hơn 0 / must be greater than 0")
    return float(value)


@dataclass(frozen=True)
class Selector:
    """One EntitySelector: a type, and maybe an id or an id pattern (the id wins)."""

    type: str
    id: str | None = None
    id_pattern: str | None = None

    def pattern(self) -> re.Pattern[str] | None:
        return re.compile(self.id_pattern) if self.id_pattern and not self.id else None


@dataclass
class SubscriptionSpec:
    """A checked subscription: ``document`` is what is stored (the client's members, minus
    ``receiverInfo``, which is kept apart, sealed)."""

    document: dict[str, Any]
    receiver_info: list[dict[str, str]] | None
    selectors: list[Selector] = field(default_factory=list)
    watched: list[str] | None = None
    attributes: list[str] | None = None
    q: Query | None = None
    geo: GeoQuery | None = None
    is_active: bool = True
    expires_at: datetime | None = None
    throttling: float = 0.0
    time_interval: float | None = None
    format: str = "normalized"
    accept: str = "application/json"
    uri: str = ""


def _selector(raw: Any, index: int) -> Selector:
    where = f"entities[{index}]"
    if not isinstance(raw, dict):
        raise _bad(f"{where} phải là đối tượng / must be an object")
    if "type" not in raw:
        raise _bad(f"{where}: type là bắt buộc / type is mandatory in an EntitySelector")
    type_ = _name(raw["type"], f"{where}.type")
    entity_id = check_entity_id(raw["id"]) if raw.get("id") is not None else None
    pattern = raw.get("idPattern")
    if pattern is not None:
        if not isinstance(pattern, str) or not pattern or len(pattern) > MAX_PATTERN:
            raise _bad(f"{where}.idPattern must be a regular expression of 1 to 256 characters")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _bad(
                f"{where}.idPattern không hợp lệ / invalid regular expression: {exc}"
            ) from exc
    return Selector(type_, entity_id, pattern)


def _key_values(raw: Any, what: str, *, headers: bool) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise _bad(
            f"{what} phải là mảng {{key, value}} / must be a non-empty array of KeyValuePair"
        )
    if len(raw) > MAX_INFO:
        raise _bad(f"{what}: at most {MAX_INFO} pairs")
    pairs: list[dict[str, str]] = []
    for item in raw:
        if not isinstance(item, dict) or set(item) != {"key", "value"}:
            raise _bad(f'{what}: each item is {{"key": …, "value": …}}')
        key, value = item["key"], item["value"]
        if not isinstance(key, str) or not isinstance(value, str):
            raise _bad(f"{what}: key and value are strings")
        if headers:
            if not _HEADER_NAME.match(key) or key.lower() in _RESERVED_HEADERS:
                raise _bad(f"{what}: {key[:60]!r} cannot be an HTTP header of a notification")
            if len(value) > 4096 or any(c in value for c in "\r\n\x00"):
                raise _bad(f"{what}: the value of {key[:60]!r} cannot be an HTTP header value")
        pairs.append({"key": key, "value": value})
    return pairs


def _endpoint(raw: Any, spec: SubscriptionSpec) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _bad("notification.endpoint là bắt buộc / is mandatory and must be an object")
    uri = raw.get("uri")
    if not isinstance(uri, str) or len(uri) > 2048:
        raise _bad("notification.endpoint.uri là bắt buộc / is mandatory (a URI)")
    parts = urlsplit(uri)
    if not parts.scheme or not (parts.netloc or parts.path):
        raise _bad(f"notification.endpoint.uri không phải URI / is not a URI: {uri[:80]!r}")
    if parts.scheme not in ("http", "https", *MQTT_SCHEMES):
        raise NgsiError(
            "OperationNotSupported",
            f"chỉ gửi qua HTTP(S) hoặc MQTT / only http(s) and mqtt(s) endpoints are "
            f"supported, not {parts.scheme[:20]!r}",
        )
    if not parts.hostname:
        raise _bad("notification.endpoint.uri has no host")
    mqtt = parts.scheme in MQTT_SCHEMES
    if mqtt:
        check_mqtt_uri(uri)
    accept = raw.get("accept", "application/json")
    if accept not in ACCEPTS:
        raise _bad(f"notification.endpoint.accept must be one of {', '.join(ACCEPTS)}")
    out: dict[str, Any] = {"uri": uri, "accept": accept}
    if "receiverInfo" in raw:
        spec.receiver_info = _key_values(raw["receiverInfo"], "receiverInfo", headers=True)
    if "notifierInfo" in raw:
        out["notifierInfo"] = _key_values(raw["notifierInfo"], "notifierInfo", headers=False)
        check_notifier_info(out["notifierInfo"], mqtt=mqtt)
    spec.uri, spec.accept = uri, accept
    return out


def _notification(raw: Any, spec: SubscriptionSpec) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _bad("notification là bắt buộc / notification is mandatory (NotificationParams)")
    given = NOTIFICATION_SYSTEM & set(raw)
    if given:
        raise _bad(f"notification.{sorted(given)[0]} do hệ thống ghi / is set by the broker")
    out: dict[str, Any] = {}
    if "attributes" in raw:
        spec.attributes = out["attributes"] = _names(raw["attributes"], "notification.attributes")
    fmt = raw.get("format", "normalized")
    if fmt not in FORMATS:
        raise _bad(f"notification.format must be one of {', '.join(FORMATS)}")
    spec.format = out["format"] = fmt
    out["endpoint"] = _endpoint(raw.get("endpoint"), spec)
    for flag in ("sysAttrs", "showChanges"):
        if flag in raw:
            if not isinstance(raw[flag], bool):
                raise _bad(f"notification.{flag} must be true or false")
            out[flag] = raw[flag]
    return out


def _geo(raw: Any) -> tuple[dict[str, Any], GeoQuery]:
    if not isinstance(raw, dict):
        raise _bad("geoQ phải là đối tượng / must be an object")
    for member in ("geometry", "coordinates", "georel"):
        if member not in raw:
            raise _bad(f"geoQ.{member} là bắt buộc / is mandatory")
    geometry, georel, coordinates = raw["geometry"], raw["georel"], raw["coordinates"]
    if not isinstance(geometry, str) or not isinstance(georel, str):
        raise _bad("geoQ.geometry and geoQ.georel are strings")
    if isinstance(coordinates, str):
        text = coordinates
    elif isinstance(coordinates, list):
        text = orjson.dumps(coordinates).decode()
    else:
        raise _bad("geoQ.coordinates must be an array (or its JSON text)")
    if len(text) > 100_000:
        raise _bad("geoQ.coordinates: too many coordinates")
    geoproperty = raw.get("geoproperty")
    if geoproperty is not None and not isinstance(geoproperty, str):
        raise _bad("geoQ.geoproperty must be an attribute name")
    query = parse_geoquery(georel, geometry, text, geoproperty)
    out = {"geometry": geometry, "coordinates": orjson.loads(text), "georel": georel}
    if geoproperty is not None:
        out["geoproperty"] = geoproperty
    return out, query


def check_subscription(
    raw: Any, *, now: datetime | None = None, future_expiry: bool = True
) -> SubscriptionSpec:
    """Check a whole subscription (a creation, or a stored one with a fragment merged;
    ``future_expiry=False`` when the fragment leaves ``expiresAt`` as it was: an expired
    subscription can still be changed, and renewed by a new ``expiresAt``)."""
    if not isinstance(raw, dict):
        raise _bad("một Subscription là đối tượng JSON / a Subscription is a JSON object")
    if raw.get("type") != "Subscription":
        raise _bad('type phải là "Subscription" / type must be "Subscription"')
    given = SYSTEM_MEMBERS & set(raw)
    if given:
        raise _bad(f"{sorted(given)[0]} do hệ thống ghi / is set by the broker")
    spec = SubscriptionSpec(document={"type": "Subscription"}, receiver_info=None)
    doc = spec.document
    if raw.get("id") is not None:
        doc["id"] = check_entity_id(raw["id"])
    if "entities" in raw:
        entities = raw["entities"]
        if not isinstance(entities, list) or not entities:
            raise _bad("entities phải là mảng khác rỗng / must be a non-empty array")
        if len(entities) > MAX_SELECTORS:
            raise _bad(f"entities: at most {MAX_SELECTORS} selectors")
        spec.selectors = [_selector(item, i) for i, item in enumerate(entities)]
        doc["entities"] = [
            {k: v for k, v in (("id", s.id), ("idPattern", s.id_pattern), ("type", s.type)) if v}
            for s in spec.selectors
        ]
    if "watchedAttributes" in raw:
        spec.watched = doc["watchedAttributes"] = _names(
            raw["watchedAttributes"], "watchedAttributes"
        )
    if not spec.selectors and not spec.watched:
        raise _bad("cần entities hoặc watchedAttributes / entities or watchedAttributes is needed")
    if "timeInterval" in raw:
        spec.time_interval = doc["timeInterval"] = _positive(raw["timeInterval"], "timeInterval")
        if spec.watched:
            raise _bad("timeInterval and watchedAttributes cannot both be given")
        if "throttling" in raw:
            raise _bad("timeInterval and throttling cannot both be given")
    if "throttling" in raw:
        spec.throttling = doc["throttling"] = _positive(raw["throttling"], "throttling")
    if raw.get("expiresAt") is not None:
        expires = parse_time(raw["expiresAt"], "expiresAt")
        if future_expiry and expires <= (now or datetime.now(UTC)):
            raise _bad("expiresAt đã qua / expiresAt must be in the future")
        spec.expires_at = expires.astimezone(UTC)
        doc["expiresAt"] = spec.expires_at.isoformat().replace("+00:00", "Z")
    if "isActive" in raw:
        if not isinstance(raw["isActive"], bool):
            raise _bad("isActive must be true or false")
        spec.is_active = doc["isActive"] = raw["isActive"]
    if raw.get("q") is not None:
        if not isinstance(raw["q"], str) or len(raw["q"]) > 4096:
            raise _bad("q must be a query text (at most 4096 characters)")
        spec.q = parse_q(raw["q"])
        doc["q"] = raw["q"]
    if raw.get("geoQ") is not None:
        doc["geoQ"], spec.geo = _geo(raw["geoQ"])
    for text in ("subscriptionName", "description", "lang"):
        if text in raw:
            if not isinstance(raw[text], str) or len(raw[text]) > 1000:
                raise _bad(f"{text} must be a text of at most 1000 characters")
            doc[text] = raw[text]
    for unsupported in ("scopeQ", "csf", "temporalQ", "jsonldContext"):
        if unsupported in raw:
            raise NgsiError(
                "OperationNotSupported", f"{unsupported} chưa được hỗ trợ / is not supported yet"
            )
    doc["notification"] = _notification(raw.get("notification"), spec)
    return spec


def merge_fragment(
    stored: dict[str, Any], receiver: list[dict[str, str]] | None, fragment: Any
) -> dict[str, Any]:
    """The subscription after a PATCH (§5.8.2): each member of the fragment replaces the
    stored one; ``notification`` and its ``endpoint`` are merged member by member; a member
    set to ``null`` (or ``"urn:ngsi-ld:null"``) is removed."""
    if not isinstance(fragment, dict) or not fragment:
        raise _bad("một đoạn Subscription khác rỗng / expected a non-empty Subscription fragment")
    if "id" in fragment and fragment["id"] != stored.get("id"):
        raise _bad("id của subscription không đổi được / a subscription's id cannot change")
    if "type" in fragment and fragment["type"] != "Subscription":
        raise _bad('type phải là "Subscription" / type must be "Subscription"')
    merged = orjson.loads(orjson.dumps(stored))
    if receiver is not None:
        merged.setdefault("notification", {}).setdefault("endpoint", {})["receiverInfo"] = receiver
    for key, value in fragment.items():
        if key in ("@context", "id"):
            continue
        if key == "notification" and isinstance(value, dict):
            target = merged.setdefault("notification", {})
            for nkey, nvalue in value.items():
                if nkey == "endpoint" and isinstance(nvalue, dict):
                    endpoint = target.setdefault("endpoint", {})
                    for ekey, evalue in nvalue.items():
                        _set(endpoint, ekey, evalue)
                else:
                    _set(target, nkey, nvalue)
        else:
            _set(merged, key, value)
    return merged


def _set(target: dict[str, Any], key: str, value: Any) -> None:
    if value is None or value == "urn:ngsi-ld:null":
        target.pop(key, None)
    else:
        target[key] = value

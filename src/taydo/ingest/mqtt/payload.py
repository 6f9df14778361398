"""MQTT topics and payloads → readings. Pure functions: no I/O, so they are fuzzed directly.

Two wire formats are understood:

* Tây Đô: topic ``<prefix>/<agency>/<entity>/attrs`` (prefix ``taydo`` by default), payload
  ``{"<metric>": number, …, "ts": time}`` or a JSON array of such objects. ``<entity>`` is the
  entity's local id (the last part of ``urn:ngsi-ld:<Type>:<local>``) or its full id.
* FIWARE IoT Agent JSON: topic ``/<apikey>/<device_id>/attrs`` or
  ``/json/<apikey>/<device_id>/attrs``, payload ``{"<attr>": number, …}`` with an optional
  ``TimeInstant``. The apikey names a *service group* (setting ``mqtt_iota_services``) that
  gives the agency and, optionally, the entity type; the entity is then
  ``urn:ngsi-ld:<type>:<device_id>`` (as the IoT Agent names devices ``<type>:<device_id>``),
  or, without a type, the agency's entity whose local id is the device id.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from taydo.ingest.intake import Reading

__all__ = [
    "MAX_ITEMS_PER_MESSAGE",
    "IotaService",
    "Rejected",
    "Target",
    "parse_payload",
    "parse_topic",
    "raw_message",
    "shared_topics",
    "split_share",
]

MAX_ITEMS_PER_MESSAGE = 1000
MAX_NAME = 80
TIME_KEYS = ("ts", "TimeInstant", "observedAt")


class Rejected(ValueError):
    """The whole message is refused; the text is the reason stored with it in quarantine."""


@dataclass(frozen=True, slots=True)
class IotaService:
    agency: str
    entity_type: str | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """Where a message's values go: the sending agency and the entity (full id or local)."""

    agency: str
    entity: str  # a full ``urn:ngsi-ld:…`` id, or a local id to resolve within the agency
    entity_type: str | None = None
    fmt: str = "taydo"  # taydo | iota

    @property
    def entity_id(self) -> str | None:
        if self.entity.startswith("urn:ngsi-ld:"):
            return self.entity
        if self.entity_type:
            return f"urn:ngsi-ld:{self.entity_type}:{self.entity}"
        return None


SHARE = "$share/"


def split_share(prefix: str) -> tuple[str | None, str]:
    """``$share/<group>/<prefix>`` → (group, prefix); a plain prefix → (None, prefix).

    A shared subscription is a subscription option: the broker delivers each message on
    the plain topic (``taydo/…``), to one member of the group. The group belongs in the
    SUBSCRIBE, never in the topic parser (which quarantined every message when it did)."""
    if not prefix.startswith(SHARE):
        return None, prefix
    group, _slash, rest = prefix[len(SHARE) :].partition("/")
    if not group or not rest or any(c in group for c in "+#"):
        raise ValueError(
            f"mqtt_topic_prefix {prefix!r}: a shared subscription is $share/<group>/<prefix>"
        )
    return group, rest


def shared_topics(group: str | None, topics: Sequence[str]) -> tuple[str, ...]:
    """The topic filters as subscribed: each one in the share group when there is one (the
    IoT Agent topics too, or every process would store every IoT Agent message)."""
    return tuple(topics if group is None else (f"{SHARE}{group}/{t}" for t in topics))


def _segment(value: str, what: str) -> str:
    if not value or len(value) > 255:
        raise Rejected(f"chủ đề sai / bad topic: empty or too long {what}")
    return value


def parse_topic(
    topic: str, *, prefix: str = "taydo", iota: Mapping[str, IotaService] | None = None
) -> Target:
    parts = topic.split("/")
    if len(parts) == 4 and parts[0] == prefix and parts[3] == "attrs":
        return Target(agency=_segment(parts[1], "agency"), entity=_segment(parts[2], "entity"))
    if parts and parts[0] == "" and parts[-1] == "attrs":
        inner = parts[1:-1]
        if len(inner) == 3 and inner[0] == "json":
            inner = inner[1:]
        if len(inner) == 2:
            apikey, device = inner
            service = (iota or {}).get(apikey)
            if service is None:
                raise Rejected(
                    "apikey không được khai báo / unknown IoT Agent apikey "
                    f"{apikey[:40]!r} (setting mqtt_iota_services)"
                )
            return Target(
                agency=service.agency,
                entity=_segment(device, "device id"),
                entity_type=service.entity_type,
                fmt="iota",
            )
    raise Rejected(
        f"chủ đề không đúng mẫu / topic {topic[:200]!r} matches neither "
        f"{prefix}/<agency>/<entity>/attrs nor /<apikey>/<device>/attrs"
    )


def _object_readings(entity_id: str, body: Mapping[str, Any]) -> list[Reading]:
    stamp: Any = None  # judged by the validator: epoch ms or ISO 8601 with an offset
    for key in TIME_KEYS:
        if key in body:
            stamp = body[key]
            break
    readings = []
    for key, value in body.items():
        if key in TIME_KEYS:
            continue
        if not key or len(key) > MAX_NAME:
            raise Rejected(f"tên chỉ số sai / bad metric name {key[:100]!r}")
        readings.append(Reading(entity_id, key, stamp, value))
    return readings


def parse_payload(entity_id: str, payload: bytes) -> list[Reading]:
    """Readings of one message; ``Rejected`` when the message as a whole makes no sense."""
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise Rejected(f"không phải JSON / not JSON: {str(exc)[:200]}") from None
    objects = body if isinstance(body, list) else [body]
    if len(objects) > MAX_ITEMS_PER_MESSAGE:
        raise Rejected(f"quá nhiều mục / more than {MAX_ITEMS_PER_MESSAGE} objects in one message")
    readings: list[Reading] = []
    for item in objects:
        if not isinstance(item, dict):
            raise Rejected(
                f"cần đối tượng JSON / expected a JSON object, got {type(item).__name__}"
            )
        readings.extend(_object_readings(entity_id, item))
    if not readings:
        raise Rejected("không có giá trị nào / the message carries no metric")
    return readings


def raw_message(topic: str, payload: bytes) -> dict[str, str]:
    """The message as kept in quarantine: the topic and the payload as text (base64 when the
    payload is not UTF-8, so nothing is lost)."""
    try:
        return {"topic": topic, "payload": payload.decode("utf-8")}
    except UnicodeDecodeError:
        return {"topic": topic, "payload_base64": base64.b64encode(payload).decode("ascii")}

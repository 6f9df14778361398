"""Notification endpoints other than HTTP (ETSI GS CIM 009 v1.8 §5.2.15 Endpoint, and the MQTT
binding of notifications): what an ``mqtt://`` / ``mqtts://`` URI names, and the
``notifierInfo`` keys that set up the channel (``MQTT-Version``, ``MQTT-QoS``). Checked when the
subscription is stored, so a bad endpoint is a 400 to the client, not a dead letter later."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from taydo.ingest.ngsild.errors import NgsiError

__all__ = [
    "MQTT_QOS",
    "MQTT_SCHEMES",
    "MQTT_VERSIONS",
    "MqttEndpoint",
    "check_mqtt_uri",
    "check_notifier_info",
    "masked_uri",
    "mqtt_endpoint",
]

MQTT_SCHEMES = ("mqtt", "mqtts")
# §5.2.15: the versions and qualities of service a notifierInfo may ask for (defaults first).
MQTT_VERSIONS = ("mqtt5.0", "mqtt3.1.1")
MQTT_QOS = ("0", "1", "2")
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
_MQTT_KEYS = ("MQTT-Version", "MQTT-QoS")


def _bad(detail: str) -> NgsiError:
    return NgsiError("BadRequestData", detail)


@dataclass(frozen=True)
class MqttEndpoint:
    """Where and how an MQTT notification is published."""

    host: str
    port: int
    tls: bool
    topic: str
    username: str | None
    password: str | None
    version: str = MQTT_VERSIONS[0]
    qos: int = 0


def masked_uri(uri: str) -> str:
    """The URI as answered: a password in it (``mqtt://user:password@host/topic``) shown as
    ``********``, like the credentials of receiverInfo."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:********@{host}"))


def check_mqtt_uri(uri: str) -> None:
    mqtt_endpoint(uri, [])


def mqtt_endpoint(uri: str, notifier_info: list[dict[str, str]] | None) -> MqttEndpoint:
    """The endpoint an ``mqtt[s]://[user[:password]@]host[:port]/topic[/subtopic…]`` URI and
    its notifierInfo name; a URI without a topic, or with wildcards in it, is refused (one
    publishes to a topic name, never to a filter)."""
    parts = urlsplit(uri)
    if parts.scheme not in MQTT_SCHEMES or not parts.hostname:
        raise _bad(f"not an MQTT endpoint: {uri[:80]!r}")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise _bad(f"notification.endpoint.uri: bad port in {uri[:80]!r}") from exc
    topic = unquote(parts.path[1:]) if parts.path.startswith("/") else ""
    if not topic:
        raise _bad(
            "notification.endpoint.uri: an MQTT endpoint names its topic (mqtt://host/topic)"
        )
    # "#" never reaches the path (a URI fragment starts there): looked for in the whole URI.
    if any(c in topic for c in "+\x00") or "#" in uri or len(topic.encode()) > 65535:
        raise _bad(f"notification.endpoint.uri: {topic[:80]!r} is not a topic name to publish to")
    if parts.query or parts.fragment:
        raise _bad("notification.endpoint.uri: an MQTT endpoint has no query or fragment")
    info = {p["key"]: p["value"] for p in notifier_info or ()}
    version = info.get("MQTT-Version", MQTT_VERSIONS[0])
    qos = info.get("MQTT-QoS", MQTT_QOS[0])
    return MqttEndpoint(
        host=parts.hostname,
        port=port,
        tls=parts.scheme == "mqtts",
        topic=topic,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        version=version,
        qos=int(qos),
    )


def check_notifier_info(pairs: list[dict[str, str]], *, mqtt: bool) -> None:
    """``MQTT-Version`` and ``MQTT-QoS`` take the spec's values, and only on an MQTT
    endpoint (on an HTTP one they would be silently meaningless); other keys are kept."""
    keys = [p["key"] for p in pairs]
    if len(set(keys)) != len(keys):
        raise _bad("notifierInfo: a key appears twice")
    for pair in pairs:
        key, value = pair["key"], pair["value"]
        if key not in _MQTT_KEYS:
            continue
        if not mqtt:
            raise _bad(f"notifierInfo.{key} applies to mqtt:// and mqtts:// endpoints only")
        allowed = MQTT_VERSIONS if key == "MQTT-Version" else MQTT_QOS
        if value not in allowed:
            raise _bad(
                f"notifierInfo.{key} must be one of {', '.join(allowed)}, not {value[:40]!r}"
            )

"""Notifications to MQTT endpoints (``mqtt://`` / ``mqtts://``, ETSI GS CIM 009 v1.8 §5.2.15
and the MQTT binding of notifications).

They are queued in the same persistent outbox as the HTTP ones (same per-receiver queues,
retries with back-off, dead letters, ``timesSent``/``lastSuccess``/``lastFailure``); only the
last step differs: the notifier hands the row to ``MqttSender.send`` instead of POSTing it.
MQTT has no headers, so the message is the JSON object the spec gives:
``{"metadata": {<Content-Type, Link, receiverInfo…>}, "body": <the Notification>}``, published
to the URI's topic with the ``MQTT-QoS`` and ``MQTT-Version`` of ``notifierInfo``.

One connection per try: notifications to one broker already go one at a time (one outbox
queue per endpoint host), and a connection kept open would need its own reconnect logic for
brokers that are down — the outbox's back-off already is that logic."""

from __future__ import annotations

import asyncio
import ssl
import uuid
from collections.abc import Callable
from typing import Any

import aiomqtt
import orjson

from taydo.subscriptions.endpoints import mqtt_endpoint

__all__ = ["MqttSender", "is_mqtt", "message_of"]

TIMEOUT_S = 10.0


def is_mqtt(url: str) -> bool:
    return url.startswith(("mqtt://", "mqtts://"))


def message_of(body: Any, headers: dict[str, str]) -> bytes:
    """The MQTT payload of a notification: what HTTP would send as headers goes in
    ``metadata``, the notification itself in ``body``."""
    return orjson.dumps({"metadata": dict(headers), "body": body})


class MqttSender:
    """Publishes one notification; ``notifier_info(ref)`` gives the subscription's notifierInfo
    pairs (read at send time, like the receiverInfo headers)."""

    def __init__(
        self,
        notifier_info: Callable[[str], list[dict[str, str]] | None],
        *,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.notifier_info = notifier_info
        self.timeout_s = timeout_s

    async def send(self, ref: str, url: str, body: Any, headers: dict[str, str]) -> None:
        """One try; raises if the broker refused or could not be reached (the outbox retries)."""
        info = await asyncio.to_thread(self.notifier_info, ref)  # may read the database
        endpoint = mqtt_endpoint(url, info)
        protocol = (
            aiomqtt.ProtocolVersion.V311
            if endpoint.version == "mqtt3.1.1"
            else aiomqtt.ProtocolVersion.V5
        )
        client = aiomqtt.Client(
            endpoint.host,
            endpoint.port,
            username=endpoint.username,
            password=endpoint.password,
            identifier=f"taydo-notify-{uuid.uuid4().hex[:12]}",
            protocol=protocol,
            tls_context=ssl.create_default_context() if endpoint.tls else None,
            timeout=self.timeout_s,
        )
        async with client:
            await client.publish(
                endpoint.topic,
                payload=message_of(body, headers),
                qos=endpoint.qos,
                timeout=self.timeout_s,
            )

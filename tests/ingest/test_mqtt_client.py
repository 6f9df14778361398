"""The MQTT client's connect against brokers that are not there or do not answer."""

from __future__ import annotations

import asyncio
import socket

import pytest

from taydo.ingest.mqtt import client as mqtt_client
from taydo.ingest.mqtt.client import MqttError, Subscriber


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_no_broker_is_a_clear_error() -> None:
    subscriber = Subscriber("127.0.0.1", _free_port(), client_id="taydo-test")
    with pytest.raises(MqttError, match="cannot reach broker"):
        asyncio.run(subscriber.connect())


def test_a_broker_that_never_answers_times_out_and_a_stop_is_not_lost(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A server that accepts TCP but never sends CONNACK: connect gives up after its timeout;
    and a connect cancelled while waiting (a gateway stopping) ends at once."""
    monkeypatch.setattr(mqtt_client, "CONNECT_TIMEOUT_S", 0.3)

    async def scenario() -> None:
        silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = silent.sockets[0].getsockname()[1]
        try:
            with pytest.raises(MqttError, match="did not answer CONNECT"):
                await Subscriber("127.0.0.1", port, client_id="taydo-test").connect()
            waiting = asyncio.create_task(
                Subscriber("127.0.0.1", port, client_id="taydo-test-2").connect()
            )
            await asyncio.sleep(0.05)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(waiting, 2)
        finally:
            silent.close()
            await silent.wait_closed()

    asyncio.run(scenario())

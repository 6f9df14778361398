"""The MQTT client's connect against brokers that are not there or do not answer."""

from __future__ import annotations

import asyncio

import pytest

from taydo.ingest.mqtt import client as mqtt_client
from taydo.ingest.mqtt.client import MqttError, Subscriber
from tests.serving import free_port


def test_no_broker_is_a_clear_error() -> None:
    subscriber = Subscriber("127.0.0.1", free_port(), client_id="taydo-test")
    with pytest.raises(MqttError, match="cannot reach broker"):
        asyncio.run(subscriber.connect())


def test_a_broker_that_never_answers_times_out_and_a_stop_is_not_lost(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A server that accepts TCP but never sends CONNACK: connect gives up after its timeout;
    and a connect cancelled while waiting (a gateway stopping) ends at once."""
    monkeypatch.setattr(mqtt_client, "CONNECT_TIMEOUT_S", 0.3)

    async def scenario() -> None:
        connects: asyncio.Queue[bytes] = asyncio.Queue()

        async def silent_broker(reader: asyncio.StreamReader, _writer: object) -> None:
            await connects.put(await reader.read(1))  # a CONNECT came in; never answered

        silent = await asyncio.start_server(silent_broker, "127.0.0.1", 0)
        port = silent.sockets[0].getsockname()[1]
        try:
            with pytest.raises(MqttError, match="did not answer CONNECT"):
                await Subscriber("127.0.0.1", port, client_id="taydo-test").connect()
            await connects.get()
            # long enough that only the cancel below can end the second connect
            monkeypatch.setattr(mqtt_client, "CONNECT_TIMEOUT_S", 60)
            waiting = asyncio.create_task(
                Subscriber("127.0.0.1", port, client_id="taydo-test-2").connect()
            )
            assert await asyncio.wait_for(connects.get(), 10) == b"\x10"  # it is waiting
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(waiting, 2)
        finally:
            silent.close()
            await silent.wait_closed()

    asyncio.run(scenario())

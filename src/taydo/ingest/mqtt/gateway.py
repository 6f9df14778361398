"""The MQTT gateway: subscribe, parse, validate, group-commit, and only then acknowledge.

QoS 1 with a persistent session (MQTT 5, ``clean_start`` off, a long session expiry): while the
IOC is down the broker keeps its messages, and a message is acknowledged (PUBACK) only after its
values are committed or the message is stored in quarantine. A message that was committed but
whose PUBACK was lost comes back after a reconnect and is stored once (the store drops exact
duplicates). The receive maximum is 65,535, so the broker keeps many messages in flight while
a batch commits: throughput comes from big batches, not from early acknowledgements.

The connection is the lean subscriber of ``taydo.ingest.mqtt.client`` (see there why not
aiomqtt). Pipeline (one task each, so parsing the next batch overlaps committing the previous
one): ``inbound`` (filled by the protocol) → *collector* (take up to ``batch_max`` messages,
parse and validate them in a worker thread) → *committer* (write points, quarantine rejects,
PUBACK in
arrival order).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from taydo.core import clock
from taydo.ingest.mqtt.client import Inbound, MqttError, Subscriber
from taydo.ingest.mqtt.payload import (
    IotaService,
    Rejected,
    parse_payload,
    parse_topic,
    raw_message,
)
from taydo.ingest.quarantine import Entry
from taydo.ingest.resolve import Ambiguous, EntityResolver
from taydo.ingest.validate import SeriesLookup, validate_items

__all__ = [
    "Batch",
    "BrokerAddress",
    "MqttGateway",
    "Stats",
    "iota_services",
    "parse_broker_url",
]

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600  # the broker keeps our queue a week while we are away
RECEIVE_MAXIMUM = 65_535
BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 30.0
TOPIC_CACHE_MAX = 100_000


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool

    def __repr__(self) -> str:  # never show the password
        return f"BrokerAddress({self.host}:{self.port}, user={self.username!r}, tls={self.tls})"


def parse_broker_url(url: str) -> BrokerAddress:
    """``mqtt://[user:pass@]host[:port]`` (``mqtts://`` for TLS, default ports 1883/8883)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp") or not parts.hostname:
        raise ValueError("TAYDO_MQTT_URL must look like mqtt://[user:pass@]host[:port]")
    tls = parts.scheme == "mqtts"
    return BrokerAddress(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


@dataclass
class Stats:
    received: int = 0
    committed_messages: int = 0
    points: int = 0
    quarantined: int = 0
    acked: int = 0
    connects: int = 0
    last_error: str | None = None


@dataclass
class Batch:
    """Messages parsed together, committed together and acknowledged together."""

    acks: list[tuple[int, int]] = field(default_factory=list)  # (mid, qos)
    points: list[tuple[int, int, float, int]] = field(default_factory=list)
    quarantine: list[Entry] = field(default_factory=list)


class MqttGateway:
    """Runs as a background task inside the server (opened by ``taydo.ingest.runtime``)."""

    def __init__(
        self,
        address: BrokerAddress,
        *,
        series: SeriesLookup,
        resolver: EntityResolver,
        write: Callable[[list[tuple[int, int, float, int]]], Any],
        quarantine: Callable[[list[Entry]], Any],
        client_id: str = "taydo-ioc",
        topics: tuple[str, ...] = ("taydo/+/+/attrs",),
        prefix: str = "taydo",
        iota: Mapping[str, IotaService] | None = None,
        batch_max: int = 5000,
    ) -> None:
        self.address = address
        self._series = series
        self._resolver = resolver
        self._write = write  # async: points -> None, returns after commit
        self._quarantine = quarantine  # async: entries -> None, returns after commit
        self._client_id = client_id
        self._topics = topics
        self._prefix = prefix
        self._iota = dict(iota or {})
        self._batch_max = batch_max
        self._task: asyncio.Task[None] | None = None
        self._targets: dict[str, tuple[str, str]] = {}
        self._cache_generation = -1
        self.stats = Stats()
        self.connected = asyncio.Event()

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="mqtt-gateway")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        backoff = BACKOFF_START_S
        while True:
            try:
                await self._session()
                backoff = BACKOFF_START_S
            except MqttError as exc:
                self.stats.last_error = str(exc)
                log.warning("MQTT %r: %s; reconnecting in %.1f s", self.address, exc, backoff)
            except Exception as exc:  # keep the gateway alive whatever happens
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("MQTT gateway failed; restarting in %.1f s", backoff)
            self.connected.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def _session(self) -> None:
        client = Subscriber(
            self.address.host,
            self.address.port,
            client_id=self._client_id,
            username=self.address.username,
            password=self.address.password,
            tls=self.address.tls,
            session_expiry=SESSION_EXPIRY_S,
            receive_maximum=RECEIVE_MAXIMUM,
        )
        await client.connect()
        try:
            self.stats.connects += 1
            await client.subscribe(self._topics, qos=1)
            self.connected.set()
            log.info("MQTT gateway connected to %r, topics %s", self.address, self._topics)
            batches: asyncio.Queue[Batch] = asyncio.Queue(maxsize=2)
            collector = asyncio.create_task(self._collect(client, batches), name="mqtt-collect")
            committer = asyncio.create_task(self._commit(client, batches), name="mqtt-commit")
            assert client.closed is not None
            tasks: set[asyncio.Future[Any]] = {collector, committer, client.closed}
            try:
                done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # re-raise what ended the session
            finally:
                for task in (collector, committer):
                    task.cancel()
                for task in (collector, committer):
                    with contextlib.suppress(asyncio.CancelledError, MqttError):
                        await task
        finally:
            await client.disconnect()

    # -- pipeline --------------------------------------------------------------------------

    async def _collect(self, client: Subscriber, batches: asyncio.Queue[Batch]) -> None:
        while True:
            await client.arrived.wait()
            client.arrived.clear()
            if client.closed is not None and client.closed.done():
                return
            while client.inbound:
                messages = client.inbound[: self._batch_max]
                del client.inbound[: self._batch_max]
                self.stats.received += len(messages)
                batch = await asyncio.to_thread(self.process, messages)
                await batches.put(batch)

    async def _commit(self, client: Subscriber, batches: asyncio.Queue[Batch]) -> None:
        while True:
            batch = await batches.get()
            await self._store(batch)
            client.ack([mid for mid, qos in batch.acks if qos > 0])
            self.stats.acked += len(batch.acks)
            self.stats.committed_messages += len(batch.acks)

    async def _store(self, batch: Batch) -> None:
        """Commit a batch's points and quarantine entries; retry while storage fails (the
        broker keeps the messages unacknowledged meanwhile, so nothing is lost)."""
        delay = BACKOFF_START_S
        while True:
            try:
                if batch.points:
                    await self._write(batch.points)
                    self.stats.points += len(batch.points)
                    batch.points = []
                if batch.quarantine:
                    await self._quarantine(batch.quarantine)
                    self.stats.quarantined += len(batch.quarantine)
                    batch.quarantine = []
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("MQTT batch not stored (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)

    def process(self, messages: list[Inbound]) -> Batch:
        """Parse and validate messages (runs in a worker thread: index misses read the DB).

        Items are validated per sending agency in one call each, not per message: the
        validator's fixed cost per call would otherwise dominate small messages."""
        batch = Batch()
        received = clock.now_ms()
        groups: dict[str, tuple[list[dict[str, Any]], list[int]]] = {}
        for number, message in enumerate(messages):
            batch.acks.append((message.mid, message.qos))
            agency = None
            try:
                agency, entity_id = self._target(message.topic)
                readings = parse_payload(entity_id, message.payload)
            except _Refused as refused:
                batch.quarantine.append(
                    self._entry(message.topic, message.payload, str(refused), refused.agency)
                )
                continue
            except Rejected as rejected:
                batch.quarantine.append(
                    self._entry(message.topic, message.payload, str(rejected), agency)
                )
                continue
            except Exception as exc:  # a parser bug must not make a message loop forever
                log.exception("MQTT message on %r could not be parsed", message.topic[:200])
                reason = f"lỗi nội bộ / internal error {type(exc).__name__}"
                batch.quarantine.append(self._entry(message.topic, message.payload, reason, agency))
                continue
            items, owners = groups.setdefault(agency, ([], []))
            for reading in readings:
                items.append(reading.item(received))
                owners.append(number)
        for agency, (items, owners) in groups.items():
            checked = validate_items(items, self._series, now_ms=received, may_write=_Scope(agency))
            batch.points.extend(checked.rows)
            reasons: dict[int, list[str]] = {}
            for index, reason, _owner in checked.rejected:
                reasons.setdefault(owners[index], []).append(f"{items[index]['metric']}: {reason}")
            for number, texts in reasons.items():
                message = messages[number]
                batch.quarantine.append(
                    self._entry(message.topic, message.payload, _join(texts), agency)
                )
        return batch

    def handle(self, topic: str, payload: bytes) -> Batch:
        """One message on its own (used by tests and replay)."""
        return self.process([Inbound(topic, payload, 0, 0)])

    def _target(self, topic: str) -> tuple[str, str]:
        """(agency, entity id) of a topic; cached, since a sensor keeps its topic."""
        generation = self._resolver.generation
        if generation != self._cache_generation or len(self._targets) > TOPIC_CACHE_MAX:
            self._targets.clear()
            self._cache_generation = generation
        found = self._targets.get(topic)
        if found is not None:
            return found
        agency: str | None = None
        try:
            target = parse_topic(topic, prefix=self._prefix, iota=self._iota)
            agency = target.agency
            entity_id = target.entity_id or self._resolver.resolve(target.agency, target.entity)
        except (Rejected, Ambiguous) as exc:
            raise _Refused(str(exc), agency) from None
        if entity_id is None:
            raise _Refused(
                f"không có thực thể / no entity {target.entity[:100]!r} in agency "
                f"{target.agency[:40]}",
                agency,
            )
        self._targets[topic] = (target.agency, entity_id)
        return target.agency, entity_id

    @staticmethod
    def _entry(topic: str, payload: bytes, reason: str, agency: str | None) -> Entry:
        return Entry("mqtt", reason, raw_message(topic, payload), agency[:40] if agency else None)


class _Refused(Exception):
    def __init__(self, reason: str, agency: str | None) -> None:
        super().__init__(reason)
        self.agency = agency


@dataclass(frozen=True, slots=True)
class _Scope:
    """A topic's agency may write only its own entities (hashable: the validator caches)."""

    agency: str

    def __call__(self, owner: str | None) -> bool:
        return owner == self.agency


def _join(reasons: list[str]) -> str:
    shown = reasons[:20]
    if len(reasons) > 20:
        shown.append(f"… {len(reasons) - 20} more")
    return "; ".join(shown)


def iota_services(raw: dict[str, dict[str, str]]) -> dict[str, IotaService]:
    """The IoT Agent service groups of the settings (``mqtt_iota_services``), by API key."""
    return {
        apikey: IotaService(agency=group["agency"], entity_type=group.get("type"))
        for apikey, group in raw.items()
    }

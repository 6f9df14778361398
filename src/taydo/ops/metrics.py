"""The Prometheus metrics of one app: read from the running parts when scraped.

Nothing here counts on the hot path: the domains keep their own counters and ``Timings``
(``taydo.core.metering``), the admission gate its in-flight and shed counts; a scrape copies
them. The two database reads (open alerts, outbox) are one ``GROUP BY`` each, and the scrape
runs on a worker thread, never on the event loop.

Every app has its own registry (two apps in one test process never mix their figures); the
process collector adds RSS, CPU and open files.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from taydo.alerts.runtime import AlertingRuntime
from taydo.alerts.service import open_by_severity, outbox_by_channel
from taydo.auth.denied import DeniedJournal
from taydo.core.admission import Gate, RequestOutcome
from taydo.core.metering import Snapshot, Timings
from taydo.core.runtime import Runtime
from taydo.ingest.counts import GatewayCounts
from taydo.ingest.mqtt.gateway import MqttGateway
from taydo.observations.service import ObservationWriter

__all__ = ["HttpTimings", "Metrics"]

log = logging.getLogger(__name__)


@dataclass
class HttpTimings:
    """HTTP latency by (method, route template, status class); the request observer."""

    by_route: dict[tuple[str, str, str], Timings] = field(default_factory=dict)

    def observe(self, outcome: RequestOutcome) -> None:
        if outcome.route_class == "stream":
            return  # a live stream lasts as long as its viewer: not a latency
        key = (outcome.method, outcome.route, f"{outcome.status // 100}xx")
        timings = self.by_route.get(key)
        if timings is None:
            timings = self.by_route[key] = Timings()
        timings.observe(outcome.seconds)


def _histogram(family: HistogramMetricFamily, labels: list[str], snapshot: Snapshot) -> None:
    buckets = [("+Inf" if b == float("inf") else repr(b), c) for b, c in snapshot.buckets]
    family.add_metric(labels, buckets, snapshot.total)


class _Collector(Collector):
    def __init__(self, runtime: Runtime, http: HttpTimings) -> None:
        self.runtime = runtime
        self.http = http

    def collect(self) -> Iterator[Metric]:
        yield from self._http()
        yield from self._admission()
        yield from self._ingest()
        yield from self._writer()
        yield from self._alerts()
        yield from self._denied()

    def _http(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "taydo_http_request_duration_seconds",
            "Time to answer an admitted HTTP request, by route template.",
            labels=["method", "route", "status"],
        )
        for (method, route, status), timings in list(self.http.by_route.items()):
            _histogram(family, [method, route, status], timings.snapshot())
        yield family

    def _admission(self) -> Iterator[Metric]:
        gate = self.runtime.find(Gate)
        if gate is None:
            return
        in_flight = GaugeMetricFamily(
            "taydo_admission_in_flight", "Requests being served, by route class.", labels=["class"]
        )
        admitted = CounterMetricFamily(
            "taydo_admission_admitted", "Requests admitted, by route class.", labels=["class"]
        )
        shed = CounterMetricFamily(
            "taydo_admission_shed",
            "Requests shed with 503 before any work, by route class.",
            labels=["class"],
        )
        for kind in gate.limits:
            in_flight.add_metric([kind], gate.in_flight[kind])
            admitted.add_metric([kind], gate.admitted[kind])
            shed.add_metric([kind], gate.shed[kind])
        yield from (in_flight, admitted, shed)

    def _ingest(self) -> Iterator[Metric]:
        points = CounterMetricFamily(
            "taydo_ingest_points",
            "Points received by gateway and outcome (accepted, duplicate, rejected).",
            labels=["gateway", "outcome"],
        )
        counts = self.runtime.find(GatewayCounts)
        if counts is not None:
            for gateway in sorted(set(counts.accepted) | set(counts.rejected)):
                points.add_metric([gateway, "accepted"], counts.accepted[gateway])
                points.add_metric([gateway, "duplicate"], counts.duplicates[gateway])
                points.add_metric([gateway, "rejected"], counts.rejected[gateway])
        mqtt = self.runtime.find(MqttGateway)
        if mqtt is not None:
            points.add_metric(["mqtt", "accepted"], mqtt.stats.points)
            points.add_metric(["mqtt", "rejected"], mqtt.stats.quarantined)
            yield CounterMetricFamily(
                "taydo_mqtt_messages", "MQTT messages received.", value=mqtt.stats.received
            )
            yield GaugeMetricFamily(
                "taydo_mqtt_connected",
                "1 while the MQTT gateway is connected to its broker.",
                value=1 if mqtt.connected.is_set() else 0,
            )
        yield points

    def _writer(self) -> Iterator[Metric]:
        writer = self.runtime.find(ObservationWriter)
        if writer is None:
            return
        yield GaugeMetricFamily(
            "taydo_writer_queue_rows",
            "Rows waiting for the group-commit writer.",
            value=writer.pending_rows,
        )
        yield CounterMetricFamily(
            "taydo_writer_transactions", "Group-commit transactions.", value=writer.batches
        )
        yield CounterMetricFamily(
            "taydo_writer_rows", "Rows offered to those transactions.", value=writer.rows
        )
        commits = HistogramMetricFamily(
            "taydo_writer_commit_duration_seconds", "Time of one group-commit transaction."
        )
        _histogram(commits, [], writer.commit_seconds.snapshot())
        yield commits

    def _alerts(self) -> Iterator[Metric]:
        alerting = self.runtime.find(AlertingRuntime)
        if alerting is None:
            return
        evaluation = HistogramMetricFamily(
            "taydo_rules_evaluation_duration_seconds",
            "Time the rules take to judge one committed batch.",
        )
        _histogram(evaluation, [], alerting.evaluation_seconds.snapshot())
        yield evaluation
        yield GaugeMetricFamily(
            "taydo_sse_clients", "Live-stream clients connected.", value=len(alerting.hub.clients)
        )
        database = self.runtime.db
        try:
            severities = open_by_severity(database)
            outbox = outbox_by_channel(database)
        except Exception:  # the database is away: the other figures still help
            log.exception("metrics: reading open alerts and the outbox failed")
            return
        open_alerts = GaugeMetricFamily(
            "taydo_alerts_open", "Open alerts by severity.", labels=["severity"]
        )
        for severity, count in sorted(severities.items()):
            open_alerts.add_metric([severity], count)
        yield open_alerts
        messages = GaugeMetricFamily(
            "taydo_outbox_messages",
            "Notifications not yet sent, by channel and status (pending, dead = dead letters).",
            labels=["channel", "status"],
        )
        for (channel, status), count in sorted(outbox.items()):
            messages.add_metric([channel, status], count)
        yield messages

    def _denied(self) -> Iterator[Metric]:
        denied = self.runtime.find(DeniedJournal)
        if denied is not None:
            yield CounterMetricFamily(
                "taydo_denied_requests",
                "Refused requests (401, 403, throttled or forged logins) seen.",
                value=denied.noted,
            )


class Metrics:
    """The registry of one app; ``render()`` is the text Prometheus reads."""

    def __init__(self, runtime: Runtime, http: HttpTimings) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(runtime, http))
        self.registry.register(ProcessCollector(registry=None))

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))

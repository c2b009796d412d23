"""Prometheus metrics of one gate lane, served on ``[metrics] port`` (0 = off).

    qaqpa_gate_decisions_total{reason, granted}   counter, one per decision (listener on the controller)
    qaqpa_gate_decision_seconds                   histogram: credential taken up → relay/lights set
    qaqpa_gate_outbox_events                      events not yet accepted by the server
    qaqpa_gate_sync_lag_seconds                   since the last successful sync (+Inf: never synced)
    qaqpa_gate_online                             1 if the last sync cycle succeeded
    qaqpa_gate_reader_up{reader, protocol}        1 while a card reader's port is open and answering
    qaqpa_gate_camera_ok                          0 after a camera error
    qaqpa_gate_disk_free_bytes                    free space beside the store
    qaqpa_gate_disk_alarm                         1 while free space is low or an event could not be written
    qaqpa_gate_clock_suspect                      1 while decisions are timed by the estimate (gate.clock)

Counters are pushed by the decision path; the gauges are read from ``GateController.status()`` at scrape
time, so there is no polling thread and a scrape never sees a stale value. Each gate has its own registry
(the simulator runs several lanes in one process).
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gate.decision import Decision
from gate.errors import GateError
from protocol import GateEvent

log = logging.getLogger(__name__)

# a QR lane decides in milliseconds; a plate lane's OCR is outside this span (it runs before the credential)
LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

StatusSource = Callable[[], Mapping[str, Any]]


class MetricsError(GateError):
    """The metrics endpoint cannot be served (port taken, bad address)."""


class _StatusCollector(Collector):
    """Gauges read from the controller's status at each scrape."""

    def __init__(self, status: StatusSource, data_dir: Path, clock: Callable[[], float]) -> None:
        self._status = status
        self._data_dir = data_dir
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        status = self._status()
        yield GaugeMetricFamily("qaqpa_gate_outbox_events", "Events not yet accepted by the server.", status["outbox"])
        last_sync = status.get("last_sync_at")
        lag = math.inf if last_sync is None else max(0.0, self._clock() - float(last_sync))
        yield GaugeMetricFamily("qaqpa_gate_sync_lag_seconds", "Seconds since the last successful sync.", lag)
        yield GaugeMetricFamily("qaqpa_gate_online", "1 if the last sync cycle succeeded.", int(bool(status["online"])))
        readers = GaugeMetricFamily(
            "qaqpa_gate_reader_up", "1 while the card reader is connected.", labels=["reader", "protocol"]
        )
        for reader in status.get("readers", []):
            readers.add_metric([str(reader["name"]), str(reader["protocol"])], int(bool(reader["connected"])))
        yield readers
        camera_ok = int(status.get("camera_error") is None)
        yield GaugeMetricFamily("qaqpa_gate_camera_ok", "0 after the camera reported an error.", camera_ok)
        try:
            free = float(shutil.disk_usage(self._data_dir).free)
        except OSError:
            free = math.nan  # the data folder is gone: NaN rather than a number that looks fine
        yield GaugeMetricFamily("qaqpa_gate_disk_free_bytes", "Free bytes on the store's file system.", free)
        yield GaugeMetricFamily(
            "qaqpa_gate_disk_alarm",
            "1 while free space is low or the last event could not be written (gate.disk).",
            int(bool(status["disk"]["alarm"])),
        )
        yield GaugeMetricFamily(
            "qaqpa_gate_clock_suspect",
            "1 while the wall clock is not believed and decisions are flagged clock_suspect.",
            int(bool(status["clock"]["suspect"])),
        )


class GateMetrics:
    """A gate's metrics on their own registry; ``decided`` is the controller's decision listener."""

    def __init__(self, status: StatusSource, data_dir: Path, clock: Callable[[], float] = time.time) -> None:
        self.registry = CollectorRegistry()
        self.decisions = Counter(
            "qaqpa_gate_decisions", "Decisions by reason code.", ["reason", "granted"], registry=self.registry
        )
        self.latency = Histogram(
            "qaqpa_gate_decision_seconds",
            "Credential taken up to relay and lights set.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_StatusCollector(status, data_dir, clock))
        self._server: Any | None = None

    def decided(self, decision: Decision, event: GateEvent) -> None:
        """Count one decision (signature of ``GateController.add_listener``)."""
        self.decisions.labels(event.reason.value, "true" if event.granted else "false").inc()

    def observe_latency(self, seconds: float) -> None:
        self.latency.observe(seconds)

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Serve ``/metrics`` on ``host:port`` from a daemon thread."""
        try:
            server, _thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as err:
            raise MetricsError(f"cannot serve metrics on {host}:{port}: {err.strerror or err}") from err
        self._server = server
        log.info("metrics on http://%s:%d/metrics", host, port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

"""gate.metrics on a real controller: decisions by reason, the latency histogram, and the status gauges
(outbox, sync lag, camera, disk and its alarm, the clock)."""

from __future__ import annotations

import re
from pathlib import Path

from gpiozero.pins.mock import MockFactory
from prometheus_client import generate_latest

from gate.clock import GateClock
from gate.config import GateConfig, GateSettings, ServerSettings, StoreSettings
from gate.controller import GateController
from gate.frames import QueueFrameSource
from gate.metrics import GateMetrics
from sim.server_proc import free_port


def _value(text: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.M)
    assert match, f"{sample} not in the metrics"
    return float(match.group(1))


def test_a_manual_open_is_counted_timed_and_waits_in_the_outbox(tmp_path: Path) -> None:
    config = GateConfig(
        gate=GateSettings(park="altyn-emel", name="north-1", data_dir=tmp_path / "gate"),
        # nobody listens there: the gate is offline, its event stays in the outbox
        server=ServerSettings(url=f"http://127.0.0.1:{free_port()}", device_token="qd_x", sync_interval_s=60),
    )
    controller = GateController(config, frame_source=QueueFrameSource(), pin_factory=MockFactory())
    metrics = GateMetrics(controller.status, config.gate.data_dir, clock=lambda: 1e9)
    controller.add_listener(metrics.decided)
    controller.on_latency = metrics.observe_latency
    controller.start()
    try:
        controller.manual_open("ambulance", people=2)
        text = generate_latest(metrics.registry).decode()
    finally:
        controller.close()
    assert _value(text, 'qaqpa_gate_decisions_total{granted="true",reason="manual"}') == 1
    assert _value(text, "qaqpa_gate_decision_seconds_count") == 1
    assert _value(text, "qaqpa_gate_outbox_events") == 1
    assert _value(text, "qaqpa_gate_sync_lag_seconds") == float("inf")  # never synced
    assert _value(text, "qaqpa_gate_camera_ok") == 1
    assert _value(text, "qaqpa_gate_disk_free_bytes") > 0
    assert _value(text, "qaqpa_gate_disk_alarm") == 0 and _value(text, "qaqpa_gate_clock_suspect") == 0


def test_a_disk_alarm_and_a_suspect_clock_are_gauges(tmp_path: Path) -> None:
    config = GateConfig(
        gate=GateSettings(park="altyn-emel", name="north-1", data_dir=tmp_path / "gate"),
        server=ServerSettings(url=f"http://127.0.0.1:{free_port()}", device_token="qd_x", sync_interval_s=60),
        store=StoreSettings(min_free_mb=2**40),  # more than any disk here has free: the low-space alarm
    )
    clock = GateClock(None, lambda: 5.0)  # a Pi without RTC battery at 1970
    controller = GateController(config, frame_source=QueueFrameSource(), pin_factory=MockFactory(), clock=clock)
    metrics = GateMetrics(controller.status, config.gate.data_dir)
    try:
        controller.disk.check()
        text = generate_latest(metrics.registry).decode()
    finally:
        controller.close()
    assert _value(text, "qaqpa_gate_disk_alarm") == 1 and _value(text, "qaqpa_gate_clock_suspect") == 1

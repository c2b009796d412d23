"""gate.metrics on a real controller: decisions by reason, the latency histogram, and the status gauges."""

from __future__ import annotations

import re
from pathlib import Path

from gpiozero.pins.mock import MockFactory
from prometheus_client import generate_latest

from gate.config import GateConfig, GateSettings, ServerSettings
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

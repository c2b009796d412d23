"""A real gate controller tells the real server its health on every sync; managers see it on the dashboard."""

from __future__ import annotations

from pathlib import Path

from gpiozero.pins.mock import MockFactory

from gate import VERSION
from gate.config import GateConfig, GateSettings, ServerSettings
from gate.controller import GateController
from gate.credentials import QrCredential
from gate.frames import QueueFrameSource
from gate.store import GateStore
from gate.sync import SyncClient
from protocol import Direction, Reason
from tests.system.server_world import server_with_gate

PARK = "aksu"


def test_the_dashboard_shows_what_the_gate_reported_when_it_synced(tmp_path: Path) -> None:
    with server_with_gate(tmp_path / "server", {"slug": PARK, "name": "Aksu-Zhabagly"}, "main-in") as world:
        client = world.client
        config = GateConfig(
            gate=GateSettings(park=PARK, name="main-in", direction=Direction.ENTRY, data_dir=tmp_path / "gate"),
            server=ServerSettings(url=str(client.base_url), device_token=world.device_token, sync_interval_s=3600),
        )
        controller = GateController(
            config, frame_source=QueueFrameSource(), pin_factory=MockFactory(), http_client=client
        )
        try:
            # a decision the gate has not uploaded yet: the outbox holds one event when the sync pulls
            assert controller.handle(QrCredential("not a permit")).reason is Reason.MALFORMED
            controller.sync.client.pull()
            gates = client.get(f"/api/v1/parks/{PARK}/dashboard", headers=world.admin).json()["gates"]
            health = next(g for g in gates if g["slug"] == "main-in")
            assert health["online"] and health["outbox"] == 1
            assert health["readers"] == {"camera": "no_data"}  # no frame has come from the camera yet
            controller.sync.client.cycle()  # uploads, then pulls again with the outbox empty
            gates = client.get(f"/api/v1/parks/{PARK}/dashboard", headers=world.admin).json()["gates"]
            assert next(g for g in gates if g["slug"] == "main-in")["outbox"] == 0
            assert next(g for g in gates if g["slug"] == "main-in")["software"] == VERSION
        finally:
            controller.close()


def test_a_reader_named_in_kazakh_reaches_the_dashboard_intact(tmp_path: Path) -> None:
    """HTTP headers carry no UTF-8: the status is ASCII JSON, so a technician's Cyrillic reader name neither
    breaks the sync nor arrives garbled."""
    with server_with_gate(tmp_path / "server", {"slug": PARK, "name": "Aksu-Zhabagly"}, "main-in") as world:
        client = world.client
        config = GateConfig(
            gate=GateSettings(park=PARK, name="main-in", data_dir=tmp_path / "gate"),
            server=ServerSettings(url=str(client.base_url), device_token=world.device_token, sync_interval_s=3600),
        )
        sync = SyncClient(config, GateStore(tmp_path / "gate.db"), client=client)
        sync.gate_status = lambda: {"outbox": 0, "readers": {"Есік оқырманы": "ok"}}
        sync.cycle()
        gates = client.get(f"/api/v1/parks/{PARK}/dashboard", headers=world.admin).json()["gates"]
        assert next(g for g in gates if g["slug"] == "main-in")["readers"] == {"Есік оқырманы": "ok"}

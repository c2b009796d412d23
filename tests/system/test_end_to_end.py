"""The whole path in one process: the real server app issues permits, real gate controllers sync their
lists through it, simulated cameras show the QR codes, the gates decide and pulse their relays, and the
server counts the visitors."""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from gpiozero.pins.mock import MockFactory

from gate.config import GateConfig, GateSettings, ServerSettings
from gate.controller import GateController
from gate.decision import Decision
from gate.frames import QueueFrameSource
from protocol import Direction, GateEvent, Reason
from server import Settings, create_app
from server.accounts import Role, add_user
from sim.render import render_qr_frame

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PARK = "altyn-emel"
PASSWORD = "a ranger's long passphrase"
DAY = 86_400


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[FastAPI, TestClient, dict[str, str]]]:
    app = create_app(Settings.for_data_dir(tmp_path / "server"))
    with TestClient(app) as client:
        with app.state.engine.begin() as conn:
            add_user(conn, "admin", Role.ADMIN, PASSWORD)
        token = client.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD}).json()
        admin = {"Authorization": f"Bearer {token['access_token']}"}
        assert client.post("/api/v1/parks", json={"slug": PARK, "name": "Altyn-Emel"}, headers=admin).is_success
        yield app, client, admin
    app.state.engine.dispose()


class Lane:
    """A gate controller with a simulated camera, and the decisions it made."""

    def __init__(self, client: TestClient, admin: dict[str, str], tmp_path: Path, slug: str, direction: str) -> None:
        body = {"slug": slug, "name": slug, "direction": direction}
        assert client.post(f"/api/v1/parks/{PARK}/gates", json=body, headers=admin).is_success
        device = client.post(f"/api/v1/parks/{PARK}/gates/{slug}/device", headers=admin).json()["device_token"]
        config = GateConfig(
            gate=GateSettings(park=PARK, name=slug, direction=Direction(direction), data_dir=tmp_path / slug),
            server=ServerSettings(url=str(client.base_url), device_token=device, sync_interval_s=3600),
        )
        self.camera = QueueFrameSource()
        self.pins = MockFactory()
        self.controller = GateController(config, frame_source=self.camera, pin_factory=self.pins, http_client=client)
        self.decisions: list[tuple[Decision, GateEvent]] = []
        self._decided = threading.Condition()
        self.controller.add_listener(self._on_decision)

    def _on_decision(self, decision: Decision, event: GateEvent) -> None:
        with self._decided:
            self.decisions.append((decision, event))
            self._decided.notify_all()

    def show(self, token: str, rng: np.random.Generator) -> Decision:
        """Hold a permit up to the camera for a few frames; the gate decides once."""
        seen = len(self.decisions)
        for _ in range(3):
            self.camera.push(render_qr_frame(token, rng))
        with self._decided:
            assert self._decided.wait_for(lambda: len(self.decisions) > seen, timeout=30), "the gate did not decide"
        return self.decisions[seen][0]

    def relay_pin_high_seen(self) -> bool:
        pin: Any = self.pins.pin(self.controller.config.relay.pin)
        return any(state for _, state in pin.states)


def test_permit_from_server_to_gate_to_visitor_count(
    server: tuple[FastAPI, TestClient, dict[str, str]], tmp_path: Path
) -> None:
    _app, client, admin = server
    now = int(time.time())

    def issue(**body: Any) -> dict[str, Any]:
        defaults = {"park": PARK, "valid_from": now - 3600, "valid_until": now + DAY, "party": [2, 1, 0]}
        response = client.post("/api/v1/permits", json={**defaults, **body}, headers=admin)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    family = issue()
    revoked = issue(party=[1, 0, 0])
    expired = issue(valid_from=now - 3 * DAY, valid_until=now - 2 * DAY)
    assert client.post(f"/api/v1/permits/{revoked['id']}/revoke", headers=admin).is_success

    entry = Lane(client, admin, tmp_path, "east-in", "entry")
    exit_ = Lane(client, admin, tmp_path, "east-out", "exit")
    for lane in (entry, exit_):
        lane.controller.sync.client.cycle()  # the gates learn the list and keys while online...
        lane.controller.start()
    late = issue(party=[1, 0, 0])  # ...and this one is issued after their last sync

    rng = np.random.default_rng(5)
    try:
        assert entry.show(family["token"], rng).reason is Reason.GRANTED
        assert entry.relay_pin_high_seen()
        assert entry.show(revoked["token"], rng).reason is Reason.REVOKED
        assert entry.show(expired["token"], rng).reason is Reason.EXPIRED
        assert entry.show(late["token"], rng).reason is Reason.GRANTED_UNLISTED
        assert exit_.show(family["token"], rng).reason is Reason.GRANTED
    finally:
        for lane in (entry, exit_):
            lane.controller.stop()  # hands the outbox to the server before stopping

    occupancy = client.get(f"/api/v1/parks/{PARK}/occupancy", headers=admin).json()
    assert occupancy["inside"] == 1  # the family of 3 came and left; the late single visitor is inside
    assert occupancy["entries_today"] == 4
    for lane in (entry, exit_):
        assert lane.controller.store.outbox_depth() == 0
        lane.controller.close()

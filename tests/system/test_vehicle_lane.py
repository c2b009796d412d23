"""Cars at a vehicle lane, end to end: the real server app issues a vehicle permit, real gate controllers
sync it, a simulated camera shows rendered cars, the real plate reader (OpenCV + the plate recogniser) reads them, the
gates decide, and what they decided reaches the server."""

from __future__ import annotations

import importlib.util
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from gpiozero.pins.mock import MockFactory

from gate.config import GateConfig, GateSettings, PlateLaneSettings, ServerSettings
from gate.controller import GateController
from gate.decision import Decision
from gate.frames import QueueFrameSource
from protocol import CredentialKind, Direction, GateEvent, Reason
from server import Settings, create_app
from server.accounts import Role, add_user
from sim.render import render_qr_frame

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("onnxruntime") is None,
        reason="ONNX Runtime is not installed: pip install -e '.[plates]'",
    ),
]

PARK = "altyn-emel"
PASSWORD = "a ranger's long passphrase"
DAY = 86_400
PERMIT_CAR = "777ABE01"
UNKNOWN_CAR = "555XYZ03"
WAIT_S = 120.0  # an upper bound for a shared 2-core machine to get there, not a speed requirement


@pytest.fixture(scope="module")
def ocr() -> Any:
    """One loaded recogniser for every lane of this module (as several lanes of one gate would share it)."""
    from gate.plates import PlateOcr

    reader = PlateOcr()
    reader.load()
    return reader


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


class VehicleLane:
    """A vehicle lane's gate controller with a simulated camera, the real plate reader, and its decisions."""

    def __init__(self, client: TestClient, admin: dict[str, str], tmp_path: Path, slug: str, ocr: Any) -> None:
        from gate.plates import PlateSettings

        body = {"slug": slug, "name": slug, "direction": "entry"}
        assert client.post(f"/api/v1/parks/{PARK}/gates", json=body, headers=admin).is_success
        device = client.post(f"/api/v1/parks/{PARK}/gates/{slug}/device", headers=admin).json()["device_token"]
        config = GateConfig(
            gate=GateSettings(
                park=PARK, name=slug, direction=Direction.ENTRY, data_dir=tmp_path / slug, lane="vehicle"
            ),
            server=ServerSettings(url=str(client.base_url), device_token=device, sync_interval_s=3600),
            # "always": every frame is read (the simulated camera shows only the car at the barrier); a long
            # no-read timeout and QR window so a slow shared machine still sees one car as one car
            plates=PlateLaneSettings(
                PlateSettings(trigger="always", votes_needed=2, no_read_after_s=60.0), qr_window_s=300.0
            ),
        )
        self.camera = QueueFrameSource()
        self.pins = MockFactory()
        self.controller = GateController(
            config, frame_source=self.camera, pin_factory=self.pins, http_client=client, readers=[], plate_ocr=ocr
        )
        self.decisions: list[tuple[Decision, GateEvent]] = []
        self._decided = threading.Condition()
        self.controller.add_listener(self._on_decision)
        self.controller.sync.client.cycle()
        self.controller.start()

    def _on_decision(self, decision: Decision, event: GateEvent) -> None:
        with self._decided:
            self.decisions.append((decision, event))
            self._decided.notify_all()

    def _wait_for_decision(self, frames: list[np.ndarray[Any, Any]]) -> Decision:
        seen = len(self.decisions)
        deadline = time.monotonic() + WAIT_S
        shown = 0
        with self._decided:
            # keep the car in view, a frame at a time, until the gate decides
            while len(self.decisions) == seen:
                assert time.monotonic() < deadline, f"the gate did not decide; status {self.controller.status()}"
                self.camera.push(frames[shown % len(frames)])
                shown += 1
                self._decided.wait(0.3)
        return self.decisions[seen][0]

    def drive_up(self, plate: str) -> Decision:
        """A car with ``plate`` stops at the barrier; returns the gate's decision on its plate."""
        from sim.plates import render_car_frame

        frames = [render_car_frame(plate, np.random.default_rng(seed))[0] for seed in (0, 2)]
        return self._wait_for_decision(frames)

    def show_qr(self, token: str) -> Decision:
        """The driver holds the permit's QR up to the camera."""
        rng = np.random.default_rng(5)
        return self._wait_for_decision([render_qr_frame(token, rng) for _ in range(2)])

    def relay_pin_high_seen(self) -> bool:
        pin: Any = self.pins.pin(self.controller.config.relay.pin)
        return any(state for _, state in pin.states)

    def close(self) -> None:
        self.controller.stop()  # hands the outbox to the server
        assert self.controller.store.outbox_depth() == 0
        self.controller.close()


def test_cars_at_a_vehicle_lane(server: tuple[FastAPI, TestClient, dict[str, str]], tmp_path: Path, ocr: Any) -> None:
    app, client, admin = server
    now = int(time.time())
    body = {"park": PARK, "valid_from": now - 3600, "valid_until": now + DAY, "party": [2, 1, 0]}
    permit = client.post("/api/v1/permits", json={**body, "plate": "777 ABE 01"}, headers=admin)
    assert permit.status_code == 201, permit.text
    assert (permit.json()["plate"], permit.json()["category"]) == (PERMIT_CAR, "car")

    lanes = [VehicleLane(client, admin, tmp_path, slug, ocr) for slug in ("car-1", "car-2", "car-3")]
    try:
        # a car with a valid vehicle permit is admitted by its plate alone
        admitted = lanes[0].drive_up(PERMIT_CAR)
        assert (admitted.reason, admitted.credential, admitted.plate) == (
            Reason.GRANTED,
            CredentialKind.PLATE,
            PERMIT_CAR,
        )
        assert admitted.permit_id is not None and lanes[0].relay_pin_high_seen()

        # an unknown car is held: no opening until the ranger decides, with a reason
        held = lanes[1].drive_up(UNKNOWN_CAR)
        assert (held.reason, held.granted, held.plate) == (Reason.UNKNOWN_PLATE, False, UNKNOWN_CAR)
        assert not lanes[1].relay_pin_high_seen()
        opened = lanes[1].controller.manual_open("booked by phone, paid at the gate", people=2, plate=UNKNOWN_CAR)
        assert (opened.reason, opened.granted) == (Reason.MANUAL, True)
        assert lanes[1].relay_pin_high_seen()

        # the permit's QR shown in another car is refused
        assert lanes[2].drive_up(UNKNOWN_CAR).reason is Reason.UNKNOWN_PLATE
        mismatch = lanes[2].show_qr(permit.json()["token"])
        assert (mismatch.reason, mismatch.granted, mismatch.plate) == (Reason.PLATE_MISMATCH, False, UNKNOWN_CAR)
        assert not lanes[2].relay_pin_high_seen()
    finally:
        for lane in lanes:
            lane.close()

    with app.state.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT credential, reason, plate, note, people, permit_id FROM events ORDER BY occurred_at")
        ).all()
    stored = [tuple(row) for row in rows]
    assert ("plate", "granted", PERMIT_CAR, None, 3, permit.json()["id"]) in stored  # the permit's party
    assert ("plate", "unknown_plate", UNKNOWN_CAR, None, 0, None) in stored
    assert ("manual", "manual", UNKNOWN_CAR, "booked by phone, paid at the gate", 2, None) in stored
    assert ("permit", "plate_mismatch", UNKNOWN_CAR, None, 0, permit.json()["id"]) in stored
    assert len(stored) == 5
    occupancy = client.get(f"/api/v1/parks/{PARK}/occupancy", headers=admin).json()
    assert occupancy["inside"] == 5  # the permit's car (its party of 3, by plate) and the two the ranger let in

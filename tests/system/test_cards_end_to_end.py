"""Cards from the server's registry to a gate's decision and back: register, sync, tap, upload, count."""

from __future__ import annotations

import warnings
from pathlib import Path

import sqlalchemy as sa
from gpiozero.pins.mock import MockFactory

from gate.config import GateConfig, GateSettings, ServerSettings
from gate.controller import GateController
from gate.credentials import CardCredential
from gate.frames import QueueFrameSource
from protocol import Direction, Reason
from server import Settings, create_app
from server.accounts import Role, add_user

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PARK = "altyn-emel"
PASSWORD = "a manager's long passphrase"


def test_cards_registered_on_the_server_open_the_gate(tmp_path: Path) -> None:
    app = create_app(Settings.for_data_dir(tmp_path / "server"))
    with TestClient(app) as client:
        with app.state.engine.begin() as conn:
            add_user(conn, "admin", Role.ADMIN, PASSWORD)
        token = client.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD}).json()
        admin = {"Authorization": f"Bearer {token['access_token']}"}
        assert client.post("/api/v1/parks", json={"slug": PARK, "name": "Altyn-Emel"}, headers=admin).is_success
        gate = {"slug": "east-in", "name": "East", "direction": "entry"}
        assert client.post(f"/api/v1/parks/{PARK}/gates", json=gate, headers=admin).is_success
        device = client.post(f"/api/v1/parks/{PARK}/gates/east-in/device", headers=admin).json()["device_token"]
        for uid, role in (("0a:1b:2c:3d:4e", "ranger"), ("04A1B2C3D4E5F6", "resident"), ("DEADBEEF", "staff")):
            body = {"uid": uid, "holder": f"holder {uid}", "role": role, "parks": [PARK]}
            assert client.post("/api/v1/cards", json=body, headers=admin).status_code == 201
        assert client.post("/api/v1/cards/DEADBEEF/deactivate", headers=admin).is_success

        config = GateConfig(
            gate=GateSettings(park=PARK, name="east-in", direction=Direction.ENTRY, data_dir=tmp_path / "gate"),
            server=ServerSettings(url=str(client.base_url), device_token=device, sync_interval_s=3600),
        )
        controller = GateController(
            config, frame_source=QueueFrameSource(), pin_factory=MockFactory(), http_client=client, readers=[]
        )
        try:
            controller.sync.client.cycle()
            reasons = [
                controller.handle(CardCredential(uid)).reason
                for uid in ("0A1B2C3D4E", "04a1b2c3d4e5f6", "DEADBEEF", "CAFEBABE")
            ]
            assert reasons == [Reason.GRANTED, Reason.GRANTED, Reason.REVOKED, Reason.UNKNOWN_CARD]
            controller.sync.client.push()
            assert controller.store.outbox_depth() == 0
        finally:
            controller.close()

        occupancy = client.get(f"/api/v1/parks/{PARK}/occupancy", headers=admin).json()
        assert occupancy["inside"] == 1  # the resident; the ranger is logged, not counted
        with app.state.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT card_uid, category, reason FROM events ORDER BY occurred_at, id"))
            stored = {tuple(row) for row in rows}
        assert stored == {
            ("0A1B2C3D4E", "ranger", "granted"),
            ("04A1B2C3D4E5F6", "resident", "granted"),
            ("DEADBEEF", "staff", "revoked"),
            ("CAFEBABE", None, "unknown_card"),
        }
    app.state.engine.dispose()

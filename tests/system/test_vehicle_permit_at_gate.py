"""A vehicle permit issued by the real server reaches a real gate store through sync, and its plate and its QR
at a vehicle lane are one entry of the whole party (the plate reader's OCR is tested in test_vehicle_lane)."""

from __future__ import annotations

import time
from pathlib import Path

from gate.config import GateConfig, GateSettings, ServerSettings
from gate.credentials import PlateCredential, QrCredential
from gate.decision import Decision, Policy, decide
from gate.events import make_event
from gate.store import GateStore
from gate.sync import SyncClient
from protocol import Direction, Reason
from tests.system.server_world import server_with_gate

PARK = "altyn-emel"
CAR = "777ABE01"
WINDOW_S = 10.0


def test_a_synced_vehicle_permit_counts_its_party_once(tmp_path: Path) -> None:
    with server_with_gate(tmp_path / "server", {"slug": PARK, "name": "Altyn-Emel"}, "car-in") as world:
        client, admin, device = world.client, world.admin, world.device_token
        now = int(time.time())
        body = {"park": PARK, "valid_from": now - 60, "valid_until": now + 86400, "party": [2, 1, 0]}
        issued = client.post(
            "/api/v1/permits", json={**body, "plate": "777 abe 01", "entries_per_day": 1}, headers=admin
        )
        assert issued.status_code == 201, issued.text

        config = GateConfig(
            gate=GateSettings(park=PARK, name="car-in", data_dir=tmp_path / "gate"),
            server=ServerSettings(url=str(client.base_url), device_token=device, sync_interval_s=3600),
        )
        store = GateStore(config.gate.db_path)
        sync = SyncClient(config, store, client=client)
        sync.cycle()
        views = {
            direction: store.view(Policy(park=PARK, direction=direction, vehicle_window_s=WINDOW_S))
            for direction in Direction
        }

        def at_lane(credential: PlateCredential | QrCredential, at: float, direction: Direction) -> Decision:
            view = views[direction]
            view.refresh()
            decision = decide(credential, view, at)
            if not decision.repeat:  # what the controller does
                store.record(decision, make_event(decision))
            return decision

        entry, exit_ = Direction.ENTRY, Direction.EXIT
        plate = at_lane(PlateCredential(CAR), now, entry)
        assert (plate.reason, plate.people) == (Reason.GRANTED, 3)
        qr = at_lane(QrCredential(issued.json()["token"], plate=CAR), now + 4, entry)
        assert (qr.repeat, qr.people) == (True, 0)
        sync.cycle()  # uploads what the gate decided: one entry of three
        occupancy = client.get(f"/api/v1/parks/{PARK}/occupancy", headers=admin).json()
        assert (occupancy["inside"], occupancy["entries_today"]) == (3, 3)
        # out by the plate, the whole party; the permit's one entry a day is used when the car comes back
        assert at_lane(PlateCredential(CAR), now + 60, exit_).people == 3
        assert at_lane(PlateCredential(CAR), now + 120, entry).reason is Reason.ENTRIES_USED
        sync.cycle()
        occupancy = client.get(f"/api/v1/parks/{PARK}/occupancy", headers=admin).json()
        assert (occupancy["inside"], occupancy["entries_today"]) == (0, 3)
        store.close()
        sync.close()

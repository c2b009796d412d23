"""A permit booked through the visitor's API is admitted by a real gate store synced from the server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from gate.config import GateConfig, GateSettings, ServerSettings
from gate.credentials import QrCredential
from gate.decision import Policy, decide
from gate.store import GateStore
from gate.sync import SyncClient
from protocol import Direction, Reason
from server.park_time import day_bounds, park_today
from server.parks import get_park
from tests.system.server_world import server_with_gate

PARK = "kolsay"


def test_a_booked_qr_is_admitted_by_a_synced_gate(tmp_path: Path) -> None:
    park = {"slug": PARK, "name": "Көлсай көлдері", "daily_quota": 100}
    with server_with_gate(tmp_path / "server", park, "main-in") as world:
        app, client, device = world.app, world.client, world.device_token
        with app.state.engine.connect() as conn:
            found = get_park(conn, PARK)
        day = park_today(found)
        body = {"park": PARK, "day": day.isoformat(), "party": {"adults": 2, "preschool": 1}}
        booked = client.post("/api/v1/public/bookings", json=body, headers={"Accept-Language": "kk"})
        assert booked.status_code == 201, booked.text
        token = booked.json()["token"]

        store = GateStore(tmp_path / "gate.db")
        config = GateConfig(
            gate=GateSettings(park=PARK, name="main-in", data_dir=tmp_path / "gate"),
            server=ServerSettings(url=str(client.base_url), device_token=device, sync_interval_s=3600),
        )
        SyncClient(config, store, client=client).cycle()
        view = store.view(Policy(park=PARK, direction=Direction.ENTRY, clock_skew_s=300, passback_timeout_s=43200))
        view.refresh()
        start, _end = day_bounds(found, day)
        noon = start + 12 * 3600
        decision = decide(QrCredential(token), view, noon)
        assert decision.reason == Reason.GRANTED
        assert decision.people == 3
        # the same permit the day after is refused as expired
        tomorrow_noon = noon + 24 * 3600
        assert decide(QrCredential(token), view, tomorrow_noon).reason == Reason.EXPIRED
        assert dt.date.fromisoformat(booked.json()["day"]) == day

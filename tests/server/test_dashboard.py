"""The dashboard's numbers from events uploaded by gates, gate health from sync, and a park's limits."""

from __future__ import annotations

import json
import time
from typing import Any

from server.park_time import day_start
from server.parks import DEFAULT_TIMEZONE, get_park
from server.stats_dashboard import YEAR_DAYS, dashboard, load_level
from tests.server.conftest import PARK, World, event

HOUR = 3600


def _upload(world: World, device: dict[str, str], events: list[dict[str, Any]]) -> None:
    response = world.client.post("/api/v1/gate/events", json={"events": events}, headers=device)
    assert response.status_code == 200, response.text
    assert len(response.json()["new"]) == len(events)


def _at(t: int) -> int:
    return t * 1000


def test_load_levels() -> None:
    assert load_level(10, 0) == "none"
    assert load_level(79, 100) == "ok"
    assert load_level(80, 100) == "amber"
    assert load_level(100, 100) == "red"


def test_dashboard_counts_a_day_by_gate_category_hour_and_reason(world: World) -> None:
    now = int(time.time())
    today = day_start(now, DEFAULT_TIMEZONE)
    assert (
        world.client.put(
            f"/api/v1/parks/{PARK}/limits", json={"capacity": 10, "daily_quota": 20}, headers=world.manager
        ).status_code
        == 200
    )
    n = 0

    def ev(at: int, **kw: Any) -> dict[str, Any]:
        nonlocal n
        n += 1
        return event(n, occurred_at=_at(at), **kw)

    _upload(
        world,
        world.entry_device,
        [
            ev(today + 60, people=3, category="adult"),
            ev(today + 120, people=2, category="child"),
            ev(today + 121, people=4, category="adult", flags=["offline"], permit_id="abcdefghijkmnop2"),
            ev(today + 200, reason="expired", granted=False, people=0),
            ev(today - 7 * 86400 + 30, people=5, category="adult"),  # same weekday last week, hour 0
            ev(today - YEAR_DAYS * 86400 + HOUR + 5, people=6, category="adult"),  # last year, hour 1
        ],
    )
    # the exit lane counts one person out, and admitted the same permit offline on entry: a conflict
    _upload(
        world,
        world.exit_device,
        [
            ev(today + 300, direction="exit", people=1, category="adult"),
            ev(today + 400, people=4, category="adult", flags=["offline"], permit_id="abcdefghijkmnop2"),
        ],
    )
    app: Any = world.client.app
    with app.state.engine.connect() as conn:
        data = dashboard(conn, get_park(conn, PARK), now)
    assert data["now"]["entries_today"] == 13
    assert data["now"]["inside"] == 5 + 6 + 13 - 1
    assert data["now"]["capacity_level"] == "red"
    assert data["now"]["quota_level"] == "ok"
    gates = {g["slug"]: g for g in data["gates"]}
    assert gates["east-in"]["entries_today"] == 9
    assert gates["east-out"]["entries_today"] == 4
    assert gates["east-out"]["exits_today"] == 1
    assert data["hourly"]["today"][0] == 13
    assert data["hourly"]["last_week"][0] == 5
    assert data["hourly"]["last_year"][1] == 6
    breakdown = data["breakdown_today"]
    assert breakdown["by_gate"] == {"east-in": {"adult": 7, "child": 2}, "east-out": {"adult": 4}}
    assert breakdown["refused"] == {"expired": 1}
    assert data["daily"][-1]["entries"] == 13
    assert data["monthly"][-1]["entries"] >= 13
    assert len(data["monthly"]) == 12
    assert sum(map(sum, data["heatmap"]["cells"])) > 0
    assert [(c["permit_id"], c["first_gate"], c["second_gate"]) for c in data["conflicts"]] == [
        ("abcdefghijkmnop2", "east-in", "east-out")
    ]
    api = world.client.get(f"/api/v1/parks/{PARK}/dashboard", headers=world.ranger)
    assert api.status_code == 200
    assert api.json()["now"]["entries_today"] == 13


def test_sync_records_gate_health_and_refuses_a_malformed_status(world: World) -> None:
    status = {"outbox": 7, "readers": {"camera": "ok", "rfid": "no_data"}, "software": "0.1.0"}
    headers = {**world.entry_device, "X-Gate-Status": json.dumps(status)}
    assert world.client.get("/api/v1/gate/sync", headers=headers).status_code == 200
    assert world.client.get("/api/v1/gate/sync", headers=world.exit_device).status_code == 200
    gates = {
        g["slug"]: g for g in world.client.get(f"/api/v1/parks/{PARK}/dashboard", headers=world.manager).json()["gates"]
    }
    assert gates["east-in"]["online"] and gates["east-in"]["outbox"] == 7
    assert gates["east-in"]["readers"] == {"camera": "ok", "rfid": "no_data"}
    assert gates["east-out"]["online"] and gates["east-out"]["outbox"] is None
    for bad in ("not json", '{"outbox": -1}', '{"outbox": "3"}', '{"surprise": 1}', "[1]"):
        response = world.client.get("/api/v1/gate/sync", headers={**world.exit_device, "X-Gate-Status": bad})
        assert response.status_code == 422, bad
        assert "X-Gate-Status" in response.json()["detail"]
    assert world.count("gate_health") == 2


def test_limits_are_set_by_managers_and_reach_gates(world: World) -> None:
    url = f"/api/v1/parks/{PARK}/limits"
    body = {"capacity": 300, "daily_quota": 1000}
    assert world.client.put(url, json=body, headers=world.ranger).status_code == 403
    assert world.client.put(url, json={"capacity": -1, "daily_quota": 5}, headers=world.manager).status_code == 422
    assert world.client.put(url, json={"capacity": "5", "daily_quota": 5}, headers=world.manager).status_code == 422
    response = world.client.put(url, json=body, headers=world.manager)
    assert response.status_code == 200
    assert response.json()["capacity"] == 300
    page = world.client.get("/api/v1/gate/sync", headers=world.entry_device).json()
    assert page["park"]["capacity"] == 300
    assert page["park"]["daily_quota"] == 1000

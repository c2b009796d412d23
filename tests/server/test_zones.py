"""Zones of a park: who may add them and put gates in them, bad input refused without change, the zone's
limits and counts in its gates' sync pages, and a real gate store applying both the park's and the zone's."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from gate.credentials import QrCredential
from gate.decision import Policy, decide
from gate.events import make_event
from gate.store import GateStore
from protocol import Direction, Reason, ZoneSettings
from tests.server.conftest import PARK, World, event, second_park, sync

ZONES = f"/api/v1/parks/{PARK}/zones"


def add_zone(world: World, **body: Any) -> Any:
    return world.client.post(ZONES, json={"slug": "canyon", "name": "Canyon", **body}, headers=world.manager)


def place(world: World, gate: str, zone: str | None) -> Any:
    url = f"/api/v1/parks/{PARK}/gates/{gate}/zone"
    return world.client.put(url, json={"zone": zone}, headers=world.manager)


def test_a_manager_adds_a_zone_and_puts_gates_in_it(world: World) -> None:
    assert world.client.post(ZONES, json={"slug": "canyon", "name": "C"}, headers=world.ranger).status_code == 403
    made = add_zone(world, capacity=40, daily_quota=100)
    assert made.status_code == 201, made.text
    assert made.json() == {
        "park": PARK,
        "slug": "canyon",
        "name": "Canyon",
        "capacity": 40,
        "daily_quota": 100,
        "gates": [],
    }
    assert place(world, "east-in", "canyon").status_code == 200
    zones = place(world, "east-out", "canyon").json()
    assert zones[0]["gates"] == ["east-in", "east-out"]
    limits = {"capacity": 30, "daily_quota": 0}
    changed = world.client.put(f"{ZONES}/canyon/limits", json=limits, headers=world.manager)
    assert (changed.status_code, changed.json()["capacity"], changed.json()["gates"]) == (
        200,
        30,
        ["east-in", "east-out"],
    )
    assert place(world, "east-out", None).json()[0]["gates"] == ["east-in"]
    assert world.client.get(ZONES, headers=world.ranger).json()[0]["gates"] == ["east-in"]
    second_park(world)
    assert world.client.get("/api/v1/parks/charyn/zones", headers=world.manager).status_code == 403


def test_bad_zone_requests_are_refused_and_change_nothing(world: World) -> None:
    assert add_zone(world).status_code == 201
    assert place(world, "east-in", "canyon").status_code == 200
    second_park(world)
    other = world.client.post("/api/v1/parks/charyn/zones", json={"slug": "lake", "name": "Lake"}, headers=world.admin)
    assert other.status_code == 201
    bad = [
        (add_zone(world), 409, "already has a zone 'canyon'"),
        (add_zone(world, slug="lake", capacity=-1), 422, "capacity"),
        (add_zone(world, slug="Bad Slug"), 422, "slug"),
        (
            world.client.put(f"{ZONES}/canyon/limits", json={"capacity": -5, "daily_quota": 0}, headers=world.manager),
            422,
            "capacity",
        ),
        (
            world.client.put(f"{ZONES}/nowhere/limits", json={"capacity": 5, "daily_quota": 0}, headers=world.manager),
            404,
            "no zone 'nowhere'",
        ),
        (place(world, "east-in", "lake"), 404, "no zone 'lake'"),  # another park's zone
        (place(world, "west", "canyon"), 404, "no gate 'west'"),
    ]
    for response, status, fragment in bad:
        assert response.status_code == status, response.text
        assert fragment in response.text
    [zone] = world.client.get(ZONES, headers=world.ranger).json()
    assert (zone["slug"], zone["capacity"], zone["gates"]) == ("canyon", 0, ["east-in"])


def test_a_gate_applies_its_zones_limits_from_the_sync_page(world: World, tmp_path: Path) -> None:
    assert add_zone(world, capacity=5, daily_quota=0).status_code == 201
    assert place(world, "east-in", "canyon").status_code == 200
    # three went in through the zone's gate, one came out through a gate of the park outside the zone
    now_ms = int(time.time() * 1000)
    upload = world.client.post(
        "/api/v1/gate/events", json={"events": [event(1, occurred_at=now_ms)]}, headers=world.entry_device
    )
    assert upload.status_code == 200, upload.text
    out = event(2, occurred_at=now_ms, direction="exit", people=1)
    assert (
        world.client.post("/api/v1/gate/events", json={"events": [out]}, headers=world.exit_device).status_code == 200
    )
    page = sync(world)
    assert page.park is not None
    assert (page.park.capacity, page.park.occupancy) == (500, 2)
    assert page.park.zone == ZoneSettings(slug="canyon", name="Canyon", capacity=5, occupancy=3, entries_today=3)
    assert sync(world, device=world.exit_device).park.zone is None  # type: ignore[union-attr]

    with GateStore(tmp_path / "gate.db") as store:
        store.apply_sync_page(page)
        view = store.view(Policy(park=PARK, direction=Direction.ENTRY))
        view.refresh()
        now = time.time()
        three = QrCredential(world.issue(party=[2, 1, 0])["token"])
        refused = decide(three, view, now)
        assert (refused.reason, refused.detail) == (Reason.CAPACITY_FULL, "zone canyon: 3 inside, capacity 5")
        two = decide(QrCredential(world.issue(party=[2, 0, 0])["token"]), view, now)
        assert two.granted
        store.record(two, make_event(two))
        one = decide(QrCredential(world.issue(party=[1, 0, 0])["token"]), view, now)
        assert (one.reason, one.detail) == (Reason.CAPACITY_FULL, "zone canyon: 5 inside, capacity 5")


def test_a_gate_of_the_first_release_gets_a_page_it_can_read(world: World) -> None:
    """Without ``schema`` the page has none of the fields a first-release gate would refuse (it forbids
    unknown ones and would stop syncing): no zone, no party or entries per day of vehicle permits."""
    assert add_zone(world, capacity=5).status_code == 201
    assert place(world, "east-in", "canyon").status_code == 200
    world.issue(plate="123ABC02", party=[2, 1, 0], entries_per_day=1)
    old = world.client.get("/api/v1/gate/sync", params={"cursor": "0"}, headers=world.entry_device)
    assert old.status_code == 200, old.text
    body = old.json()
    assert "zone" not in body["park"]
    assert body["permits"]["plate"] == ["123ABC02"]
    assert "people" not in body["permits"] and "entries_per_day" not in body["permits"]
    new = sync(world)  # this release's gate asks for schema 2 and gets them
    assert new.park is not None and new.park.zone is not None
    assert (new.permits.people, new.permits.entries_per_day) == ([3], [1])
    too_new = {"cursor": "0", "schema": "99"}
    assert world.client.get("/api/v1/gate/sync", params=too_new, headers=world.entry_device).status_code == 422

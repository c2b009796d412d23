"""A gate counts for its zone only from the hour it joined: a gate moved in does not bring its history."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from server.db import zone_gates
from server.park_time import DAY, HOUR
from server.parks import get_gate, get_park
from server.stats import park_counts
from server.zones import get_zone, place_gate, zone_counts
from tests.server.conftest import PARK, World, event
from tests.server.test_zones import add_zone, place


def _engine(world: World) -> Any:
    app: Any = world.client.app
    return app.state.engine


def _upload(world: World, device: dict[str, str], *events: dict[str, Any]) -> None:
    response = world.client.post("/api/v1/gate/events", json={"events": list(events)}, headers=device)
    assert response.status_code == 200, response.text


def _place_at(world: World, gate: str, joined_at: int) -> None:
    with _engine(world).begin() as conn:
        park = get_park(conn, PARK)
        place_gate(conn, get_gate(conn, park, gate), get_zone(conn, park, "canyon"), now=joined_at)


def _counts(world: World, now: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """(the zone's inside and entries today, the park's)."""
    with _engine(world).connect() as conn:
        park = get_park(conn, PARK)
        inside, today, _ = park_counts(conn, park, now)
        return zone_counts(conn, park, get_zone(conn, park, "canyon"), now), (inside, today)


def test_a_gate_counts_for_its_zone_from_the_hour_it_joined(world: World) -> None:
    now = int(time.time())
    joined = now - 2 * DAY
    assert add_zone(world, capacity=50).status_code == 201
    for gate in ("east-in", "east-out"):
        _place_at(world, gate, joined)
    _upload(
        world,
        world.entry_device,
        event(occurred_at=(joined - 3 * HOUR) * 1000, people=4),  # before it joined: the park's only
        event(occurred_at=(joined + HOUR) * 1000, people=3),  # its join day (or the next), after it joined
        event(occurred_at=now * 1000, people=2),  # today
    )
    _upload(world, world.exit_device, event(occurred_at=now * 1000, direction="exit", people=1))
    assert _counts(world, now) == ((3 + 2 - 1, 2), (4 + 3 + 2 - 1, 2))


def test_a_gate_that_joins_today_brings_none_of_its_earlier_days(world: World) -> None:
    now = int(time.time())
    assert add_zone(world).status_code == 201
    _upload(world, world.entry_device, event(occurred_at=(now - DAY) * 1000, people=5))
    assert place(world, "east-in", "canyon").status_code == 200
    _upload(world, world.entry_device, event(occurred_at=now * 1000, people=3))
    assert _counts(world, now)[0] == (3, 3)


def test_placing_a_gate_again_keeps_when_it_joined_and_moving_it_restarts_it(world: World) -> None:
    now = int(time.time())
    assert add_zone(world).status_code == 201
    _place_at(world, "east-in", now - 2 * DAY)
    _upload(world, world.entry_device, event(occurred_at=(now - DAY) * 1000, people=4))
    assert place(world, "east-in", "canyon").status_code == 200  # the same zone: nothing changes

    def joined_at() -> int:
        with _engine(world).connect() as conn:
            return int(conn.execute(sa.select(zone_gates.c.joined_at)).scalar_one())

    assert joined_at() == now - 2 * DAY
    assert _counts(world, now)[0] == (4, 0)
    assert place(world, "east-in", None).status_code == 200
    assert place(world, "east-in", "canyon").status_code == 200
    assert joined_at() >= now
    assert _counts(world, now)[0] == (0, 0)

"""A park's entry slots through the API and ``qaqpa-server slots``: who may set them, bad plans refused
without change, the early admission a slot booking's permit gets."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest

from gate.credentials import QrCredential
from gate.decision import Policy, decide
from gate.store import GateStore
from protocol import Direction, Reason
from server.cli import main
from server.db import make_engine
from server.park_time import day_bounds, park_today
from server.parks import create_park, get_park
from tests.server.conftest import PARK, World, second_park, sync

URL = f"/api/v1/parks/{PARK}/slots"
PLAN: dict[str, Any] = {
    "slots": [{"start": "11:00", "minutes": 120, "quota": 40}, {"start": "09:00", "minutes": 120, "quota": 30}],
    "early_minutes": 15,
}


def test_a_manager_sets_the_slots_and_the_parks_staff_read_them(world: World) -> None:
    assert world.client.get(URL, headers=world.ranger).json() == {"park": PARK, "slots": [], "early_minutes": 0}
    assert world.client.put(URL, json=PLAN, headers=world.ranger).status_code == 403
    response = world.client.put(URL, json=PLAN, headers=world.manager)
    assert response.status_code == 200, response.text
    expected = {
        "park": PARK,
        "slots": [
            {"start": "09:00", "end": "11:00", "minutes": 120, "quota": 30},
            {"start": "11:00", "end": "13:00", "minutes": 120, "quota": 40},
        ],
        "early_minutes": 15,
    }
    assert response.json() == expected
    assert world.client.get(URL, headers=world.ranger).json() == expected
    second_park(world)
    assert world.client.get("/api/v1/parks/charyn/slots", headers=world.manager).status_code == 403
    assert world.client.put("/api/v1/parks/charyn/slots", json=PLAN, headers=world.manager).status_code == 403
    assert world.client.put(URL, json=PLAN).status_code == 401
    # no slots: visitors book whole days again
    cleared = world.client.put(URL, json={"slots": []}, headers=world.admin)
    assert cleared.json() == {"park": PARK, "slots": [], "early_minutes": 0}


BAD_PLANS: list[tuple[dict[str, Any], str]] = [
    (
        {"slots": [{"start": "09:00", "minutes": 120, "quota": 3}, {"start": "10:30", "minutes": 60, "quota": 3}]},
        "09:00–11:00 and 10:30 overlap",
    ),
    (
        {"slots": [{"start": "09:00", "minutes": 60, "quota": 3}, {"start": "09:00", "minutes": 30, "quota": 3}]},
        "overlap",
    ),
    ({"slots": [{"start": "09:00", "minutes": 60, "quota": -1}]}, "greater than or equal to 0"),
    ({"slots": [{"start": "09:00", "minutes": 0, "quota": 3}]}, "greater than or equal to 1"),
    ({"slots": [{"start": "23:00", "minutes": 120, "quota": 3}]}, "end by 24:00"),
    ({"slots": [{"start": "24:00", "minutes": 10, "quota": 3}]}, "should match pattern"),
    ({"slots": [{"start": "9:00a", "minutes": 10, "quota": 3}]}, "should match pattern"),
    ({"slots": [{"start": "09:00", "minutes": "60", "quota": 3}]}, "minutes"),
    ({"slots": [{"start": "09:00", "minutes": 60, "quota": 3, "colour": "red"}]}, "colour"),
    ({"slots": [], "early_minutes": -5}, "greater than or equal to 0"),
    ({"slots": [], "early_minutes": 500}, "less than or equal to 180"),
    ({}, "slots"),
]


@pytest.mark.parametrize(("body", "message"), BAD_PLANS)
def test_bad_slot_plans_are_refused_and_change_nothing(world: World, body: dict[str, Any], message: str) -> None:
    assert world.client.put(URL, json=PLAN, headers=world.manager).status_code == 200
    response = world.client.put(URL, json=body, headers=world.manager)
    assert response.status_code == 422, response.text
    assert message in response.text
    assert [s["start"] for s in world.client.get(URL, headers=world.ranger).json()["slots"]] == ["09:00", "11:00"]
    assert world.client.get(URL, headers=world.ranger).json()["early_minutes"] == 15


def test_a_slot_booking_admits_from_its_start_less_the_early_minutes(world: World, tmp_path: Path) -> None:
    assert world.client.put(URL, json=PLAN, headers=world.manager).status_code == 200
    app: Any = world.client.app
    with app.state.engine.connect() as conn:
        park = get_park(conn, PARK)
    day = park_today(park) + dt.timedelta(days=1)
    body = {"park": PARK, "day": day.isoformat(), "slot": "09:00", "party": {"adults": 2}}
    booked = world.client.post("/api/v1/public/bookings", json=body)
    assert booked.status_code == 201, booked.text
    start, end = day_bounds(park, day)
    opens = start + (9 * 60 - 15) * 60
    assert (booked.json()["valid_from"], booked.json()["valid_until"]) == (opens, end - 1)
    # a gate admits it from then (less its clock-skew tolerance), not at 08:00
    with GateStore(tmp_path / "gate.db") as store:
        store.apply_sync_page(sync(world))
        view = store.view(Policy(park=PARK, direction=Direction.ENTRY, clock_skew_s=300))
        view.refresh()
        qr = QrCredential(booked.json()["token"])
        assert decide(qr, view, start + 8 * 3600).reason is Reason.NOT_YET_VALID
        assert decide(qr, view, opens - 300).granted


def run(argv: list[str]) -> int:
    return main(argv, io.StringIO(""))


def test_the_slots_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'qaqpa.db'}"
    assert run(["migrate", "--db", db]) == 0
    engine = make_engine(db)
    with engine.begin() as conn:
        create_park(conn, "kolsay", "Kolsay")
    engine.dispose()
    capsys.readouterr()
    assert run(["slots", "list", "kolsay", "--db", db]) == 0
    assert "no entry slots" in capsys.readouterr().out
    assert run(["slots", "set", "kolsay", "11:00-13:00=40", "09:00-11:00=30", "--early-minutes", "10", "--db", db]) == 0
    shown = capsys.readouterr().out
    assert "admits 10 minutes early" in shown
    assert shown.index("09:00-11:00  quota 30") < shown.index("11:00-13:00  quota 40")
    refusals = [
        (["09:00-11:00=30", "10:00-12:00=5"], "overlap"),
        (["09:00-11:00"], "HH:MM-HH:MM=QUOTA"),
        (["09:00-11:00=-3"], "HH:MM-HH:MM=QUOTA"),
        (["11:00-09:00=3"], "ends before it starts"),
        (["25:00-26:00=3"], "not a time of day"),
        (["09:00-11:00=3", "--clear"], "not both"),
        ([], "--clear"),
        (["09:00-11:00=3", "--early-minutes", "999"], "early_minutes"),
    ]
    for argv, message in refusals:
        assert run(["slots", "set", "kolsay", *argv, "--db", db]) == 1, argv
        assert message in capsys.readouterr().err, argv
    assert run(["slots", "set", "nowhere", "09:00-11:00=3", "--db", db]) == 1
    assert "no park 'nowhere'" in capsys.readouterr().err
    assert run(["slots", "list", "kolsay", "--db", db]) == 0
    assert "09:00-11:00  quota 30" in capsys.readouterr().out  # unchanged by the refusals
    assert run(["slots", "set", "kolsay", "--clear", "--db", db]) == 0
    assert "no entry slots" in capsys.readouterr().out
    assert run(["slots", "set", "kolsay", "18:00-24:00=5", "--db", db]) == 0
    assert "18:00-24:00  quota 5" in capsys.readouterr().out

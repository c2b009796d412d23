"""Vehicle passes by plate: register, read, change, deactivate; passes in the gate's change feed; who may do what."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.server.conftest import PARK, World, event, second_park, sync

PASS: dict[str, Any] = {"plate": "123 abc 02", "holder": "Nurlan Abenov", "vehicle_class": "car", "parks": [PARK]}
URL = "/api/v1/vehicle-passes/123ABC02"


def register(world: World, headers: dict[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
    response = world.client.post("/api/v1/vehicle-passes", json={**PASS, **overrides}, headers=headers or world.admin)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_register_and_read_a_pass(world: World) -> None:
    registered = register(world, valid_from=1_700_000_000)
    assert registered["plate"] == "123ABC02"
    assert (registered["holder"], registered["vehicle_class"], registered["parks"]) == ("Nurlan Abenov", "car", [PARK])
    assert (registered["valid_from"], registered["valid_until"], registered["active"]) == (1_700_000_000, None, True)
    # any spelling of the plate finds it; rangers of the park read
    assert world.client.get(URL, headers=world.ranger).json() == registered
    assert world.client.get("/api/v1/vehicle-passes/123-abc-02", headers=world.manager).json() == registered
    listed = world.client.get("/api/v1/vehicle-passes", params={"park": PARK}, headers=world.ranger).json()
    assert listed == [registered]
    assert world.client.get("/api/v1/vehicle-passes", headers=world.ranger).json() == [registered]
    foreign = register(world, plate="7xyz123", plate_country="XX", vehicle_class="bus")
    assert (foreign["plate"], foreign["vehicle_class"]) == ("7XYZ123", "bus")


def test_a_plate_has_one_pass_in_any_spelling(world: World) -> None:
    register(world)
    response = world.client.post("/api/v1/vehicle-passes", json={**PASS, "plate": "123ABC02"}, headers=world.admin)
    assert response.status_code == 409
    assert "has a vehicle pass already" in response.json()["detail"]
    assert world.count("vehicle_passes") == 1


BAD: list[tuple[dict[str, Any], int, str]] = [
    ({"plate": "HELLO"}, 422, "fits no plate format"),
    ({"plate": "123ABCO2"}, 422, "did you mean 123ABC02"),
    ({"plate": "---"}, 422, "plate has no letters or digits"),
    ({"plate": ""}, 422, "plate"),
    ({"plate_country": "DE"}, 422, "plate_country must be one of"),
    ({"holder": "  "}, 422, "holder's name"),
    ({"vehicle_class": "pedestrian"}, 422, "vehicle_class"),
    ({"vehicle_class": "tank"}, 422, "vehicle_class"),
    ({"parks": []}, 422, "parks"),
    ({"parks": ["nowhere"]}, 404, "no park 'nowhere'"),
    ({"valid_from": 10, "valid_until": 5}, 422, "valid_until is before valid_from"),
    ({"valid_from": "10"}, 422, "valid_from"),
    ({"colour": "red"}, 422, "colour"),
]


def test_bad_pass_requests_are_refused_and_change_nothing(world: World) -> None:
    for change, status, fragment in BAD:
        response = world.client.post("/api/v1/vehicle-passes", json={**PASS, **change}, headers=world.admin)
        assert response.status_code == status, (change, response.text)
        assert fragment in response.text, change
    assert world.client.get(URL, headers=world.admin).status_code == 404
    assert world.client.get("/api/v1/vehicle-passes/---", headers=world.admin).status_code == 422
    assert world.count("vehicle_passes") == 0
    assert world.count("vehicle_pass_parks") == 0
    assert world.count("change_seq") == 0


def test_change_and_deactivate(world: World) -> None:
    register(world)
    body = {"holder": "N. Abenov", "vehicle_class": "minibus", "valid_until": 1_900_000_000}
    changed = world.client.patch(URL, json=body, headers=world.manager)
    assert changed.status_code == 200, changed.text
    got = changed.json()
    assert (got["holder"], got["vehicle_class"], got["valid_until"]) == ("N. Abenov", "minibus", 1_900_000_000)
    cleared = world.client.patch(URL, json={"valid_until": None}, headers=world.manager).json()
    assert cleared["valid_until"] is None and cleared["holder"] == "N. Abenov"
    for bad in (
        {"holder": None},
        {"vehicle_class": None},
        {"vehicle_class": "pedestrian"},
        {"active": "no"},
        {"plate": "777ABC01"},  # the plate is the pass's identity: a new car gets a new pass
        {"valid_from": 2_000_000_000, "valid_until": 1},
    ):
        response = world.client.patch(URL, json=bad, headers=world.manager)
        assert response.status_code == 422, (bad, response.text)
    assert world.client.get(URL, headers=world.ranger).json() == cleared
    deactivated = world.client.post(f"{URL}/deactivate", headers=world.manager)
    assert deactivated.status_code == 200 and deactivated.json()["active"] is False
    assert world.client.post(f"{URL}/deactivate", headers=world.admin).json() == deactivated.json()
    assert world.client.patch(URL, json={"active": True}, headers=world.admin).json()["active"] is True


def test_rangers_read_managers_manage_their_park_only(world: World) -> None:
    assert world.client.post("/api/v1/vehicle-passes", json=PASS, headers=world.ranger).status_code == 403
    register(world, headers=world.manager)
    assert world.client.patch(URL, json={"holder": "X"}, headers=world.ranger).status_code == 403
    assert world.client.post(f"{URL}/deactivate", headers=world.ranger).status_code == 403
    second_park(world)
    assert world.client.patch(URL, json={"parks": [PARK, "charyn"]}, headers=world.manager).status_code == 403
    other = {**PASS, "plate": "777ABC01", "parks": ["charyn"]}
    assert world.client.post("/api/v1/vehicle-passes", json=other, headers=world.manager).status_code == 403
    register(world, plate="555XYZ03", parks=[PARK, "charyn"])
    assert world.client.post("/api/v1/vehicle-passes/555XYZ03/deactivate", headers=world.manager).status_code == 403
    register(world, plate="777ABC01", parks=["charyn"])
    assert world.client.get("/api/v1/vehicle-passes/777ABC01", headers=world.ranger).status_code == 403
    listed = world.client.get("/api/v1/vehicle-passes", params={"park": "charyn"}, headers=world.ranger)
    assert listed.status_code == 403
    mine = {p["plate"] for p in world.client.get("/api/v1/vehicle-passes", headers=world.ranger).json()}
    assert mine == {"123ABC02", "555XYZ03"}
    assert len(world.client.get("/api/v1/vehicle-passes", headers=world.admin).json()) == 3


def test_passes_reach_the_gate_with_the_permit_cursor(world: World) -> None:
    register(world, valid_from=1_700_000_000)
    register(world, plate="555XYZ03", holder="Resident", vehicle_class="motorcycle", valid_until=1_900_000_000)
    page = sync(world)
    passes = page.vehicle_passes
    assert passes.plate == ["123ABC02", "555XYZ03"]
    assert (passes.vehicle_class, passes.holder) == (["car", "motorcycle"], ["Nurlan Abenov", "Resident"])
    assert passes.active == [True, True]
    assert passes.valid_from == [1_700_000_000, 0]
    assert passes.valid_until[1] == 1_900_000_000 and passes.valid_until[0] > 2_000_000_000
    assert len(sync(world, page.cursor).vehicle_passes) == 0
    world.client.post("/api/v1/vehicle-passes/555XYZ03/deactivate", headers=world.manager)
    delta = sync(world, page.cursor)
    assert (delta.vehicle_passes.plate, delta.vehicle_passes.active) == (["555XYZ03"], [False])


def test_a_park_withdrawn_from_a_pass_hears_of_it(world: World) -> None:
    charyn = second_park(world)
    register(world, parks=[PARK, "charyn"])
    mine, theirs = sync(world), sync(world, device=charyn)
    assert mine.vehicle_passes.plate == theirs.vehicle_passes.plate == ["123ABC02"]
    response = world.client.patch(URL, json={"parks": ["charyn"]}, headers=world.admin)
    assert response.json()["parks"] == ["charyn"]
    withdrawn = sync(world, mine.cursor)
    assert (withdrawn.vehicle_passes.plate, withdrawn.vehicle_passes.active) == (["123ABC02"], [False])
    assert len(sync(world, theirs.cursor, device=charyn).vehicle_passes) == 0


def test_pages_of_permits_cards_and_passes_skip_nothing(world: World) -> None:
    expected: list[str] = []
    plates = ["123ABC02", "555XYZ03", "777ABE01", "100KLM10"]
    for n in range(8):
        expected.append(world.issue(plate=plates[n // 2] if n % 2 else None)["id"])
        if n % 2:
            uid = f"{n:08X}"
            response = world.client.post(
                "/api/v1/cards", json={"uid": uid, "holder": "h", "role": "staff", "parks": [PARK]}, headers=world.admin
            )
            assert response.status_code == 201
            expected.append(uid)
        if n % 3 == 0:
            expected.append(register(world, plate=plates[n // 3])["plate"])
    world.client.post("/api/v1/vehicle-passes/123ABC02/deactivate", headers=world.admin)
    expected.remove("123ABC02")
    expected.append("123ABC02")
    seen: list[str] = []
    cursor, complete = "0", False
    while not complete:
        page = sync(world, cursor, limit=2)
        assert len(page.permits) + len(page.cards) + len(page.vehicle_passes) <= 2
        if page.permits.plate is not None:
            assert len(page.permits.plate) == len(page.permits)
        seen += page.permits.id + page.cards.uid + page.vehicle_passes.plate
        cursor, complete = page.cursor, page.complete
    assert sorted(seen) == sorted(expected) and len(seen) == len(expected)
    assert seen[-1] == "123ABC02"  # the deactivation came last


def test_plate_events_keep_the_plate(world: World) -> None:
    plate_event = event(credential="plate", plate="123ABC02", category="car", people=1)
    manual = event(credential="manual", reason="manual", plate="777ABE01", note="paper permit checked", people=2)
    body = {"events": [plate_event, manual]}
    response = world.client.post("/api/v1/gate/events", json=body, headers=world.entry_device)
    assert response.status_code == 200, response.text
    app: Any = world.client.app
    with app.state.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT credential, plate, note, people FROM events ORDER BY credential")).all()
    assert [tuple(row) for row in stored] == [
        ("manual", "777ABE01", "paper permit checked", 2),
        ("plate", "123ABC02", None, 1),
    ]

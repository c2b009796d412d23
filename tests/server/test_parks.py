"""Parks and gates: create, list, duplicates, unknown names."""

from __future__ import annotations

from tests.server.conftest import World


def test_parks_and_gates_are_listed(world: World) -> None:
    parks = world.client.get("/api/v1/parks", headers=world.admin).json()
    assert parks == [
        {"slug": "altyn", "name": "Altyn-Emel", "timezone": "Asia/Almaty", "capacity": 500, "daily_quota": 0}
    ]
    gates = world.client.get("/api/v1/parks/altyn/gates", headers=world.ranger).json()
    assert [(g["slug"], g["direction"]) for g in gates] == [("east-in", "entry"), ("east-out", "exit")]


def test_duplicates_conflict_and_unknown_names_are_not_found(world: World) -> None:
    park = world.client.post("/api/v1/parks", json={"slug": "altyn", "name": "Again"}, headers=world.admin)
    assert park.status_code == 409
    assert park.json() == {"detail": "park 'altyn' already exists"}
    gate = {"slug": "east-in", "name": "Again", "direction": "exit"}
    assert world.client.post("/api/v1/parks/altyn/gates", json=gate, headers=world.admin).status_code == 409
    assert world.client.get("/api/v1/parks/charyn", headers=world.admin).status_code == 404
    assert world.client.post("/api/v1/parks/charyn/gates", json=gate, headers=world.admin).status_code == 404
    missing = world.client.post("/api/v1/parks/altyn/gates/west/device", headers=world.admin)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "park 'altyn' has no gate 'west'"}
    assert (world.count("parks"), world.count("gates")) == (1, 2)


def test_bad_park_bodies_are_refused(world: World) -> None:
    for body in (
        {"slug": "Bad Slug", "name": "x"},
        {"slug": "ok", "name": ""},
        {"slug": "ok", "name": "x", "capacity": -1},
        {"slug": "ok", "name": "x", "capacity": "10"},
        {"slug": "ok", "name": "x", "timezone": "Mars/Olympus"},
        {"slug": "ok", "name": "x", "timezone": "Asia/Kolkata"},  # UTC+5:30: local days would split hours
        {"slug": "ok"},
    ):
        response = world.client.post("/api/v1/parks", json=body, headers=world.admin)
        assert response.status_code == 422, body
    bad_gate = {"slug": "west", "name": "West", "direction": "sideways"}
    assert world.client.post("/api/v1/parks/altyn/gates", json=bad_gate, headers=world.admin).status_code == 422
    assert (world.count("parks"), world.count("gates")) == (1, 2)

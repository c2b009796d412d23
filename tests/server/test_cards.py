"""The card registry: register, read, change, deactivate; cards in the gate's change feed; who may do what."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from protocol import CardRole
from tests.server.conftest import PARK, World, event, second_park, sync

CARD: dict[str, Any] = {"uid": "0a:1b:2c:3d:4e", "holder": "Aigerim Bekova", "role": "ranger", "parks": [PARK]}


def register(world: World, headers: dict[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
    response = world.client.post("/api/v1/cards", json={**CARD, **overrides}, headers=headers or world.admin)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_register_and_read_a_card(world: World) -> None:
    card = register(world, valid_from=1_700_000_000)
    assert card["uid"] == "0A1B2C3D4E"
    assert (card["holder"], card["role"], card["parks"], card["active"]) == ("Aigerim Bekova", "ranger", [PARK], True)
    assert (card["valid_from"], card["valid_until"]) == (1_700_000_000, None)
    # any spelling of the uid finds it; rangers of the park read
    assert world.client.get("/api/v1/cards/0a1b2c3d4e", headers=world.ranger).json() == card
    assert world.client.get("/api/v1/cards/0A-1B-2C-3D-4E", headers=world.manager).json() == card
    listed = world.client.get("/api/v1/cards", params={"park": PARK}, headers=world.ranger).json()
    assert listed == [card]
    assert world.client.get("/api/v1/cards", headers=world.ranger).json() == [card]


def test_a_uid_is_registered_once_in_any_spelling(world: World) -> None:
    register(world)
    response = world.client.post("/api/v1/cards", json={**CARD, "uid": "0A1B2C3D4E"}, headers=world.admin)
    assert response.status_code == 409
    assert "registered already" in response.json()["detail"]
    assert world.count("cards") == 1


BAD: list[tuple[dict[str, Any], int, str]] = [
    ({"uid": "0A1B2C3D4"}, 422, "not a card uid"),  # half a byte
    ({"uid": "zz11"}, 422, "not a card uid"),
    ({"uid": ""}, 422, "uid"),
    ({"uid": "00" * 17}, 422, "at most 16 bytes"),
    ({"holder": ""}, 422, "holder"),
    ({"holder": "   "}, 422, "holder's name"),
    ({"role": "visitor"}, 422, "role"),
    ({"parks": []}, 422, "parks"),
    ({"parks": ["nowhere"]}, 404, "no park 'nowhere'"),
    ({"valid_from": 10, "valid_until": 5}, 422, "valid_until is before valid_from"),
    ({"valid_from": "10"}, 422, "valid_from"),
    ({"colour": "red"}, 422, "colour"),
]


def test_bad_card_requests_are_refused_and_change_nothing(world: World) -> None:
    for change, status, fragment in BAD:
        response = world.client.post("/api/v1/cards", json={**CARD, **change}, headers=world.admin)
        assert response.status_code == status, (change, response.text)
        assert fragment in response.text, change
    assert world.client.get("/api/v1/cards/0A0A", headers=world.admin).status_code == 404
    assert world.client.get("/api/v1/cards/not-hex", headers=world.admin).status_code == 422
    assert world.count("cards") == 0
    assert world.count("card_parks") == 0
    assert world.count("change_seq") == 0


def test_change_and_deactivate(world: World) -> None:
    register(world)
    url = "/api/v1/cards/0A1B2C3D4E"
    body = {"holder": "A. Bekova", "role": "guide", "valid_until": 1_900_000_000}
    changed = world.client.patch(url, json=body, headers=world.manager)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["holder"], changed.json()["role"], changed.json()["valid_until"]) == (
        "A. Bekova",
        "guide",
        1_900_000_000,
    )
    cleared = world.client.patch(url, json={"valid_until": None}, headers=world.manager).json()
    assert cleared["valid_until"] is None and cleared["holder"] == "A. Bekova"
    for bad in ({"holder": None}, {"active": None}, {"active": "no"}, {"valid_from": 2_000_000_000, "valid_until": 1}):
        response = world.client.patch(url, json=bad, headers=world.manager)
        assert response.status_code == 422, (bad, response.text)
    assert world.client.get(url, headers=world.ranger).json() == cleared
    deactivated = world.client.post(f"{url}/deactivate", headers=world.manager)
    assert deactivated.status_code == 200 and deactivated.json()["active"] is False
    again = world.client.post(f"{url}/deactivate", headers=world.admin)
    assert again.json() == deactivated.json()
    reactivated = world.client.patch(url, json={"active": True}, headers=world.admin)
    assert reactivated.json()["active"] is True


def test_rangers_read_managers_manage_their_park_only(world: World) -> None:
    response = world.client.post("/api/v1/cards", json=CARD, headers=world.ranger)
    assert response.status_code == 403
    register(world, headers=world.manager)
    url = "/api/v1/cards/0A1B2C3D4E"
    assert world.client.patch(url, json={"holder": "X"}, headers=world.ranger).status_code == 403
    assert world.client.post(f"{url}/deactivate", headers=world.ranger).status_code == 403
    second_park(world)
    # a manager cannot hand out another park, nor change a card that opens one
    assert world.client.patch(url, json={"parks": [PARK, "charyn"]}, headers=world.manager).status_code == 403
    other = {**CARD, "uid": "AABBCCDD", "parks": ["charyn"]}
    assert world.client.post("/api/v1/cards", json=other, headers=world.manager).status_code == 403
    register(world, uid="11223344", parks=[PARK, "charyn"])
    assert world.client.post("/api/v1/cards/11223344/deactivate", headers=world.manager).status_code == 403
    charyn_only = register(world, uid="55667788", parks=["charyn"])
    assert world.client.get("/api/v1/cards/55667788", headers=world.ranger).status_code == 403
    assert world.client.get("/api/v1/cards", params={"park": "charyn"}, headers=world.ranger).status_code == 403
    assert charyn_only["uid"] not in {c["uid"] for c in world.client.get("/api/v1/cards", headers=world.ranger).json()}
    assert len(world.client.get("/api/v1/cards", headers=world.admin).json()) == 3


def test_cards_reach_the_gate_with_the_permit_cursor(world: World) -> None:
    register(world, valid_from=1_700_000_000)
    register(world, uid="11223344", holder="Nurlan", role="resident", valid_until=1_900_000_000)
    page = sync(world)
    cards = page.cards
    assert cards.uid == ["0A1B2C3D4E", "11223344"]
    assert cards.role == [CardRole.RANGER, CardRole.RESIDENT]
    assert (cards.holder, cards.active) == (["Aigerim Bekova", "Nurlan"], [True, True])
    assert cards.valid_from == [1_700_000_000, 0]
    assert cards.valid_until[1] == 1_900_000_000 and cards.valid_until[0] > 2_000_000_000
    assert sync(world, page.cursor).cards.uid == []
    world.client.post("/api/v1/cards/11223344/deactivate", headers=world.manager)
    delta = sync(world, page.cursor)
    assert (delta.cards.uid, delta.cards.active) == (["11223344"], [False])


def test_a_park_withdrawn_from_a_card_hears_of_it_and_the_others_do_not(world: World) -> None:
    charyn = second_park(world)
    register(world, parks=[PARK, "charyn"])
    mine, theirs = sync(world), sync(world, device=charyn)
    assert mine.cards.uid == theirs.cards.uid == ["0A1B2C3D4E"]
    response = world.client.patch("/api/v1/cards/0A1B2C3D4E", json={"parks": ["charyn"]}, headers=world.admin)
    assert response.json()["parks"] == ["charyn"]
    withdrawn = sync(world, mine.cursor)
    assert (withdrawn.cards.uid, withdrawn.cards.active) == (["0A1B2C3D4E"], [False])
    assert len(sync(world, theirs.cursor, device=charyn).cards) == 0
    # no longer listed for the park, but its staff still see the card they withdrew
    assert world.client.get("/api/v1/cards", params={"park": PARK}, headers=world.ranger).json() == []
    assert world.client.get("/api/v1/cards/0A1B2C3D4E", headers=world.ranger).status_code == 200
    # changing the card now concerns charyn only; giving altyn back reaches altyn again
    world.client.patch("/api/v1/cards/0A1B2C3D4E", json={"holder": "New"}, headers=world.admin)
    assert len(sync(world, withdrawn.cursor).cards) == 0
    assert sync(world, theirs.cursor, device=charyn).cards.holder == ["New"]
    world.client.patch("/api/v1/cards/0A1B2C3D4E", json={"parks": [PARK, "charyn"]}, headers=world.admin)
    back = sync(world, withdrawn.cursor)
    assert (back.cards.uid, back.cards.active, back.cards.holder) == (["0A1B2C3D4E"], [True], ["New"])


def test_pages_of_permits_and_cards_skip_nothing(world: World) -> None:
    expected: list[str] = []
    for n in range(7):
        expected.append(world.issue()["id"])
        if n % 2:
            expected.append(register(world, uid=f"{n:08X}")["uid"])
    world.client.post(f"/api/v1/cards/{1:08X}/deactivate", headers=world.admin)
    expected.remove(f"{1:08X}")
    expected.append(f"{1:08X}")
    seen: list[str] = []
    cursor, complete = "0", False
    while not complete:
        page = sync(world, cursor, limit=2)
        assert len(page.permits) + len(page.cards) <= 2
        seen += page.permits.id + page.cards.uid
        cursor, complete = page.cursor, page.complete
    assert sorted(seen) == sorted(expected) and len(seen) == len(expected)
    # and every page is in change order: the deactivation came last
    assert seen[-1] == f"{1:08X}"


def test_card_events_keep_the_uid(world: World) -> None:
    card_event = event(credential="card", card_uid="0A1B2C3D4E", category="resident", people=1)
    response = world.client.post("/api/v1/gate/events", json={"events": [card_event]}, headers=world.entry_device)
    assert response.status_code == 200, response.text
    app: Any = world.client.app
    with app.state.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT card_uid, category, people FROM events")).one()
    assert tuple(stored) == ("0A1B2C3D4E", "resident", 1)

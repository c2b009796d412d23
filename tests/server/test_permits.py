"""Issuing, reading, revoking permits and their QR codes; bad input changes nothing."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import zxingcpp
from PIL import Image

from protocol import Keyring, SyncPage, verify_token
from server.bookings import set_slots
from server.park_time import day_bounds, park_today
from server.parks import get_park
from tests.server.conftest import World
from tests.server.test_dashboard_pages import log_in

DAY = 86_400


def test_an_issued_token_verifies_with_the_published_keys_alone(world: World) -> None:
    issued = world.issue(plate="123 abc-02", entries_per_day=2, category="student")
    keyring = Keyring.from_jwks(world.client.get("/api/v1/keys").json())
    verified = verify_token(issued["token"], keyring)
    permit = verified.permit
    assert permit.id_text == issued["id"]
    assert (permit.park, permit.party, permit.plate) == ("altyn", (2, 1, 0), "123ABC02")
    assert (permit.valid_from, permit.valid_until) == (1_700_000_000, 1_900_000_000)
    assert (permit.entries_per_day, permit.category) == (2, "student")
    assert verified.kid == issued["kid"]


def test_read_and_revoke(world: World) -> None:
    issued = world.issue()
    url = f"/api/v1/permits/{issued['id']}"
    assert world.client.get(url, headers=world.ranger).json() == issued
    revoked = world.client.post(f"{url}/revoke", headers=world.ranger)
    assert revoked.status_code == 200
    assert revoked.json()["revoked"] is True
    again = world.client.post(f"{url}/revoke", headers=world.manager)
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    assert world.client.get(url, headers=world.admin).json()["revoked"] is True


def test_qr_png_carries_the_token(world: World) -> None:
    issued = world.issue()
    response = world.client.get(f"/api/v1/permits/{issued['id']}/qr.png", headers=world.ranger)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    decoded = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(response.content)).convert("L"), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert [barcode.text for barcode in decoded] == [issued["token"]]


def test_unknown_and_malformed_permit_ids(world: World) -> None:
    assert world.client.get("/api/v1/permits/aaaaaaaaaaaaaaaa", headers=world.admin).status_code == 404
    response = world.client.get("/api/v1/permits/not-an-id", headers=world.admin)
    assert response.status_code == 422
    assert "not a permit id" in response.json()["detail"]


GOOD: dict[str, Any] = {"park": "altyn", "valid_from": 1_700_000_000, "valid_until": 1_900_000_000, "party": [1, 0, 0]}


BAD: list[tuple[dict[str, Any], int, str]] = [
    ({"park": "nowhere"}, 404, "no park 'nowhere'"),
    ({"valid_from": "1700000000"}, 422, "valid_from"),
    ({"valid_until": 1_600_000_000}, 422, "valid_until is before valid_from"),
    ({"party": [1, 0]}, 422, "party"),
    ({"party": [-1, 0, 0]}, 422, "party"),
    ({"party": [0, 0, 0]}, 422, "at least one person"),
    ({"party": [True, 0, 0]}, 422, "party"),
    ({"entries_per_day": -1}, 422, "entries_per_day"),
    ({"plate": ""}, 422, "plate"),
    ({"plate": "---"}, 422, "plate has no letters or digits"),
    ({"colour": "red"}, 422, "colour"),
]


def test_bad_permit_requests_are_refused_and_change_nothing(world: World) -> None:
    for change, status, fragment in BAD:
        response = world.client.post("/api/v1/permits", json={**GOOD, **change}, headers=world.admin)
        assert response.status_code == status, (change, response.text)
        assert fragment in response.text, change
    assert world.count("permits") == 0
    assert world.count("change_seq") == 0


def test_malformed_json_and_missing_fields(world: World) -> None:
    headers = {**world.admin, "Content-Type": "application/json"}
    broken = world.client.post("/api/v1/permits", content=b'{"park": "altyn",', headers=headers)
    assert broken.status_code == 422
    assert "JSON" in broken.text
    missing = world.client.post("/api/v1/permits", json={"park": "altyn"}, headers=world.admin)
    assert missing.status_code == 422
    assert {error["loc"][-1] for error in missing.json()["errors"]} == {"valid_from", "valid_until", "party"}
    assert world.count("permits") == 0


def test_a_vehicle_permit_carries_a_checked_plate_and_its_class(world: World) -> None:
    car = world.issue(plate="123 abc-02")
    assert (car["plate"], car["category"]) == ("123ABC02", "car")
    cyrillic = world.issue(plate="777 АВЕ 01", category="minibus")  # Cyrillic look-alikes as typed in Russian
    assert (cyrillic["plate"], cyrillic["category"]) == ("777ABE01", "minibus")
    walker = world.issue()
    assert (walker["plate"], walker["category"]) == (None, "standard")
    foreign = world.issue(plate="7xyz 123", plate_country="XX", category="bus")
    assert (foreign["plate"], foreign["category"]) == ("7XYZ123", "bus")
    keyring = Keyring.from_jwks(world.client.get("/api/v1/keys").json())
    assert verify_token(foreign["token"], keyring).permit.plate == "7XYZ123"


BAD_PLATES: list[tuple[dict[str, Any], str]] = [
    ({"plate": "HELLO"}, "fits no plate format of any known country"),
    ({"plate": "7XYZ123"}, 'send "plate_country": "XX"'),
    ({"plate": "123ABCO2"}, "did you mean 123ABC02"),  # O for 0 in the region: people fix it, not the server
    ({"plate": "123ABC02", "category": "pedestrian"}, "pedestrian permit cannot carry a plate"),
    ({"plate": "123ABC02", "plate_country": "kz"}, "plate_country"),
    ({"plate": "123ABC02", "plate_country": "DE"}, "plate_country must be one of"),
    ({"plate": "A", "plate_country": "XX"}, "fits no plate format of XX"),
    ({"plate_country": "KZ"}, "plate_country without a plate"),
]


def test_bad_plates_are_refused_and_change_nothing(world: World) -> None:
    for change, fragment in BAD_PLATES:
        response = world.client.post("/api/v1/permits", json={**GOOD, **change}, headers=world.admin)
        assert response.status_code == 422, (change, response.text)
        assert fragment in str(response.json()["detail"]), (change, response.text)
    assert world.count("permits") == 0
    assert world.count("change_seq") == 0


def test_the_feed_sends_plates_only_when_a_page_has_one(world: World) -> None:
    walkers = [world.issue()["id"] for _ in range(2)]
    response = world.client.get("/api/v1/gate/sync", headers=world.entry_device)
    assert "plate" not in response.json()["permits"]  # a feed of pedestrian permits stays as small as before
    assert SyncPage.model_validate_json(response.content).permits.plate is None
    car = world.issue(plate="123ABC02")["id"]
    page = SyncPage.model_validate_json(world.client.get("/api/v1/gate/sync", headers=world.entry_device).content)
    assert page.permits.id == [*walkers, car]
    assert page.permits.plate == [None, None, "123ABC02"]


def test_a_party_larger_than_a_gate_can_count_is_refused(world: World) -> None:
    body = {"park": "altyn", "valid_from": 1_700_000_000, "valid_until": 1_900_000_000, "party": [1001, 0, 0]}
    before = world.count("permits")
    response = world.client.post("/api/v1/permits", json=body, headers=world.admin)
    assert response.status_code == 422 and "at most 1000" in response.text
    assert world.count("permits") == before


def _today_bounds(world: World) -> tuple[dt.date, int]:
    """The park's local today and the unix second of its midnight."""
    app: Any = world.client.app
    with app.state.engine.connect() as conn:
        park = get_park(conn, "altyn")
    today = park_today(park)
    return today, day_bounds(park, today)[0]


def _office(world: World, start: int, end: int, party: list[int], who: dict[str, str], **more: Any) -> Any:
    body = {"park": "altyn", "valid_from": start, "valid_until": end, "party": party, **more}
    return world.client.post("/api/v1/permits", json=body, headers={**who, "Accept-Language": "en"})


def test_office_issue_keeps_to_the_days_quota_and_an_admin_may_override(world: World) -> None:
    limits = {"capacity": 500, "daily_quota": 5}
    assert world.client.put("/api/v1/parks/altyn/limits", json=limits, headers=world.manager).status_code == 200
    today, midnight = _today_bounds(world)
    day = (midnight, midnight + DAY - 1)
    assert _office(world, *day, [2, 1, 0], world.ranger).status_code == 201
    short = _office(world, *day, [2, 1, 0], world.ranger)
    assert short.status_code == 409
    assert (short.json()["code"], short.json()["params"]) == (
        "quota_short",
        {"day": today.isoformat(), "free": 2, "people": 3},
    )
    assert short.json()["detail"].startswith("Only 2 places are left for ")
    pair = _office(world, *day, [1, 1, 0], world.manager)
    assert pair.status_code == 201
    full = _office(world, *day, [1, 0, 0], world.ranger, plate="123ABC02")
    assert (full.status_code, full.json()["code"]) == (409, "quota_full")
    before = world.count("permits")
    # only an admin overrides, and says so; the override is recorded on the permit
    for who in (world.ranger, world.manager):
        assert _office(world, *day, [1, 0, 0], who, override_quota=True).status_code == 403
    assert world.count("permits") == before
    forced = _office(world, *day, [1, 0, 0], world.admin, override_quota=True)
    assert forced.status_code == 201 and forced.json()["quota_override_by"] == "root"
    read = world.client.get(f"/api/v1/permits/{forced.json()['id']}", headers=world.ranger)
    assert read.json()["quota_override_by"] == "root"
    assert world.count("permits") == before + 1
    # a permit over several days needs room on each of them (up to the booking horizon); past days do not count
    tomorrow = (midnight + DAY, midnight + 2 * DAY - 1)
    assert _office(world, *tomorrow, [5, 0, 0], world.ranger).status_code == 201
    week = _office(world, midnight - 7 * DAY, midnight + 7 * DAY, [1, 0, 0], world.ranger)
    assert (week.status_code, week.json()["params"]["day"]) == (409, today.isoformat())
    later = _office(world, midnight + DAY, midnight + 7 * DAY, [1, 0, 0], world.ranger)
    assert (later.status_code, later.json()["params"]["day"]) == (409, (today + dt.timedelta(days=1)).isoformat())
    assert _office(world, midnight + 2 * DAY, midnight + 400 * DAY, [5, 0, 0], world.ranger).status_code == 201
    # a revoked permit gives its places back (6 of 5 with the override, 4 without the pair)
    assert world.client.post(f"/api/v1/permits/{pair.json()['id']}/revoke", headers=world.ranger).status_code == 200
    assert _office(world, *day, [1, 0, 0], world.ranger).status_code == 201


def test_office_issue_keeps_to_the_entry_slot_it_starts_in(world: World) -> None:
    app: Any = world.client.app
    with app.state.engine.begin() as conn:
        set_slots(conn, get_park(conn, "altyn"), [(9 * 60, 120, 3), (11 * 60, 120, 5)])
    today, midnight = _today_bounds(world)
    tomorrow = today + dt.timedelta(days=1)
    nine = midnight + DAY + 9 * 3600
    end = midnight + 2 * DAY - 1
    assert _office(world, nine + 1800, end, [2, 1, 0], world.ranger).status_code == 201
    full = _office(world, nine + 3600, end, [1, 0, 0], world.ranger)
    assert (full.status_code, full.json()["code"]) == (409, "slot_full")
    assert full.json()["params"]["day"] == tomorrow.isoformat()
    # the visitor's availability counts the office's permit in its slot
    seen = world.client.get("/api/v1/public/parks/altyn/availability", params={"day": tomorrow.isoformat()}).json()
    assert [(s["start"], s["booked"], s["free"]) for s in seen["slots"]] == [("09:00", 3, 0), ("11:00", 0, 5)]
    booked = world.client.post(
        "/api/v1/public/bookings",
        json={"park": "altyn", "day": tomorrow.isoformat(), "slot": "09:00", "party": {"adults": 1}},
    )
    assert (booked.status_code, booked.json()["code"]) == (409, "slot_full")
    # a whole-day permit from midnight starts in no slot; one at 11:00 takes the 11:00 slot's places
    assert _office(world, midnight + DAY, end, [4, 0, 0], world.ranger).status_code == 201
    short = _office(world, nine + 2 * 3600, end, [6, 0, 0], world.ranger)
    assert (short.status_code, short.json()["code"], short.json()["params"]["free"]) == (409, "slot_short", 5)


def test_the_office_page_keeps_to_the_days_quota(world: World) -> None:
    limits = {"capacity": 500, "daily_quota": 2}
    assert world.client.put("/api/v1/parks/altyn/limits", json=limits, headers=world.manager).status_code == 200
    today, midnight = _today_bounds(world)
    assert _office(world, midnight, midnight + DAY - 1, [2, 0, 0], world.ranger).status_code == 201
    csrf = log_in(world.client, "ranger")
    form = {"park": "altyn", "day": today.isoformat(), "adults": 1, "csrf": csrf}
    full = world.client.post("/permits", data=form, headers={"Accept-Language": "ru"}, follow_redirects=False)
    assert full.status_code == 409
    assert "мест больше нет" in full.text
    tomorrow = {**form, "day": (today + dt.timedelta(days=1)).isoformat()}
    assert world.client.post("/permits", data=tomorrow, follow_redirects=False).status_code == 303
    assert world.count("permits") == 2

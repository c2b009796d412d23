"""The visitor's booking API: price, booking, quotas and slots, the e-permit's QR and PDF, errors by language."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from fastapi import FastAPI
from PIL import Image

from protocol import Keyring, verify_token
from server import Settings, create_app
from server.accounts import Role
from server.bookings import set_slots
from server.park_time import park_today
from server.parks import get_park
from server.ratelimit import RateLimit
from tests.server.conftest import TestClient, login, make_user

PARK = "charyn"
BOOKINGS = "/api/v1/public/bookings"


@pytest.fixture
def admin(app: FastAPI, client: TestClient) -> dict[str, str]:
    make_user(app, "root", Role.ADMIN)
    headers = login(client, "root")
    body = {"slug": PARK, "name": "Шарын", "daily_quota": 10}
    assert client.post("/api/v1/parks", json=body, headers=headers).status_code == 201
    return headers


def tomorrow(app: FastAPI) -> dt.date:
    with app.state.engine.connect() as conn:
        return park_today(get_park(conn, PARK)) + dt.timedelta(days=1)


def booking(day: dt.date, **overrides: Any) -> dict[str, Any]:
    return {"park": PARK, "day": day.isoformat(), "party": {"adults": 2}, **overrides}


def test_the_price_is_in_tenge_from_mrp_and_exempt_people_pay_nothing(client: TestClient, admin: Any) -> None:
    body = booking(
        dt.date(2030, 1, 1),
        party={"adults": 2, "children": 1, "pensioners": 1, "preschool": 2},
        vehicle_class="car",
        plate="123 ABC 02",
    )
    response = client.post("/api/v1/public/quote", json=body, headers={"Accept-Language": "ru"})
    assert response.status_code == 200, response.text
    quote = response.json()
    # 3 paying people × 0.1 MRP × 4325 ₸ + a car 0.3 MRP
    assert quote["total"] == "2595.00"
    assert quote["total_text"] == "2\u00a0595\u00a0₸"
    lines = {line["item"]: line for line in quote["lines"]}
    assert lines["adults"]["label"] == "Взрослые"
    assert lines["adults"]["amount"] == "865.00"
    assert lines["pensioners"]["amount"] == "0.00"
    assert lines["vehicle"]["unit_tenge"] == "1297.50"


def test_a_booking_gives_a_signed_permit_with_qr_and_pdf(app: FastAPI, client: TestClient, admin: Any) -> None:
    day = tomorrow(app)
    body = booking(
        day,
        party={"adults": 2, "children": 1, "veterans": 1},
        vehicle_class="minibus",
        plate="777 aab 02",
        payment_reference="KASPI-123/45",
    )
    response = client.post(BOOKINGS, json=body, headers={"Accept-Language": "kk"})
    assert response.status_code == 201, response.text
    permit = response.json()
    assert permit["plate"] == "777AAB02"
    assert permit["party"]["veterans"] == 1
    assert permit["price"] == "5622.50"  # 3 × 432.50 + 4325
    assert permit["price_text"] == "5\u00a0622,50\u00a0₸"
    token = verify_token(permit["token"], Keyring.from_jwks(client.get("/api/v1/keys").json())).permit
    assert token.park == PARK
    assert token.party == (2, 1, 1)
    assert token.plate == "777AAB02"
    assert token.category == "minibus"
    assert token.valid_until - token.valid_from == 24 * 3600 - 1

    png = client.get(permit["qr_png"])
    assert png.headers["content-type"] == "image/png", png.text
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)), formats=zxingcpp.BarcodeFormat.QRCode)
    assert [code.text for code in decoded] == [permit["token"]]
    pdf = client.get(permit["pdf"], headers={"Accept-Language": "ru"})
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert permit["id"].encode() in pdf.content

    again = client.get(f"/api/v1/public/permits/{permit['id']}").json()
    assert again["token"] == permit["token"]
    assert again["payment_reference"] == "KASPI-123/45"
    page = client.get(permit["page"] + "?lang=ru")
    assert page.status_code == 200
    assert "Электронное разрешение" in page.text


def test_the_day_quota_refuses_a_booking_it_cannot_hold(app: FastAPI, client: TestClient, admin: Any) -> None:
    day = tomorrow(app)
    first = client.post(BOOKINGS, json=booking(day, party={"adults": 4, "residents": 2}))
    assert first.status_code == 201
    short = client.post(BOOKINGS, json=booking(day, party={"adults": 5}), headers={"Accept-Language": "en"})
    assert short.status_code == 409
    assert short.json()["code"] == "quota_short"
    assert short.json()["params"] == {"day": day.isoformat(), "free": 4, "people": 5}
    assert short.json()["detail"].startswith("Only 4 places are left for ")
    # office permits count too
    office = {"park": PARK, "valid_from": int(first.json()["valid_from"]), "valid_until": first.json()["valid_until"]}
    assert client.post("/api/v1/permits", json={**office, "party": [4, 0, 0]}, headers=admin).status_code == 201
    full = client.post(BOOKINGS, json=booking(day, party={"adults": 1}), headers={"Accept-Language": "ru"})
    assert full.status_code == 409
    assert full.json()["code"] == "quota_full"
    assert "мест больше нет" in full.json()["detail"]
    # a revoked permit gives its places back
    client.post(f"/api/v1/permits/{first.json()['id']}/revoke", headers=admin)
    assert client.post(BOOKINGS, json=booking(day, party={"adults": 6})).status_code == 201
    other_day = client.post(BOOKINGS, json=booking(day + dt.timedelta(days=1), party={"adults": 10}))
    assert other_day.status_code == 201


def test_slots_take_their_own_quota(app: FastAPI, client: TestClient, admin: Any) -> None:
    with app.state.engine.begin() as conn:
        set_slots(conn, get_park(conn, PARK), [(9 * 60, 120, 3), (11 * 60, 120, 5)])
    day = tomorrow(app)
    seen = client.get(f"/api/v1/public/parks/{PARK}/availability", params={"day": day.isoformat()}).json()
    assert [(s["start"], s["free"]) for s in seen["slots"]] == [("09:00", 3), ("11:00", 5)]
    need = client.post(BOOKINGS, json=booking(day), headers={"Accept-Language": "kk"})
    assert need.status_code == 422
    assert need.json()["code"] == "slot_required"
    assert need.json()["detail"] == "Бұл саябаққа келушілер кіру уақыты бойынша кіргізіледі; уақытты таңдаңыз."
    made = client.post(BOOKINGS, json=booking(day, slot="09:00", party={"adults": 3}))
    assert made.status_code == 201
    assert made.json()["slot"] == "09:00"
    assert made.json()["valid_from"] % 3600 == 4 * 3600 % 3600  # 09:00 at UTC+5 is 04:00 UTC
    full = client.post(BOOKINGS, json=booking(day, slot="09:00", party={"adults": 1}))
    assert (full.status_code, full.json()["code"]) == (409, "slot_full")
    assert client.post(BOOKINGS, json=booking(day, slot="10:00")).json()["code"] == "unknown_slot"
    assert client.post(BOOKINGS, json=booking(day, slot="11:00")).status_code == 201


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"vehicle_class": "car", "plate": "12345678901"}, "plate_invalid"),
        ({"vehicle_class": "car", "plate": "123ABCO2"}, "plate_typo"),
        ({"vehicle_class": "car"}, "vehicle_without_plate"),
        ({"plate": "123ABC02"}, "plate_without_vehicle"),
        ({"party": {}}, "empty_party"),
        ({"party": {"adults": 30, "children": 30}}, "party_too_large"),
        ({"payment_reference": "a b"}, "bad_payment_reference"),
        ({"party": {"adults": "2"}}, "bad_request"),
        ({"surprise": 1}, "bad_request"),
        ({"park": "nowhere"}, "unknown_park"),
    ],
)
def test_bad_bookings_are_refused_in_the_visitors_language_and_change_nothing(
    app: FastAPI, client: TestClient, admin: Any, overrides: dict[str, Any], code: str
) -> None:
    response = client.post(BOOKINGS, json=booking(tomorrow(app), **overrides), headers={"Accept-Language": "ru"})
    assert response.status_code in (404, 422), response.text
    assert response.json()["code"] == code
    assert response.headers["content-language"] == "ru"
    assert not response.json()["detail"].isascii()
    with app.state.engine.connect() as conn:
        import sqlalchemy as sa

        assert conn.execute(sa.text("SELECT count(*) FROM permits")).scalar_one() == 0


def test_past_and_far_days_are_refused(app: FastAPI, client: TestClient, admin: Any) -> None:
    day = tomorrow(app)
    past = client.post(BOOKINGS, json=booking(day - dt.timedelta(days=2)))
    assert past.json()["code"] == "past_day"
    far = client.post(BOOKINGS, json=booking(day + dt.timedelta(days=120)))
    assert far.json()["code"] == "too_far_ahead"


def test_an_unknown_permit_is_not_found(client: TestClient) -> None:
    for permit_id in ("a" * 16, "not-a-permit"):
        response = client.get(f"/api/v1/public/permits/{permit_id}", headers={"Accept-Language": "en"})
        assert response.status_code == 404
        assert response.json()["code"] == "unknown_permit"


@pytest.fixture
def limited_client(tmp_path: Path, db_url: str) -> Iterator[TestClient]:
    settings = Settings.for_data_dir(tmp_path / "limited", db_url)
    settings = Settings(**{**vars(settings), "public_rate": RateLimit(per_minute=1, burst=3)})
    app = create_app(settings)
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def test_visitors_are_rate_limited_with_a_clear_429(limited_client: TestClient) -> None:
    for _ in range(3):
        assert limited_client.get("/api/v1/public/parks").status_code == 200
    refused = limited_client.get("/api/v1/public/parks", headers={"Accept-Language": "en"})
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["detail"].startswith("Too many requests.")
    # staff APIs are not the visitor's bucket
    assert limited_client.get("/api/v1/keys").status_code == 200

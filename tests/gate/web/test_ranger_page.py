"""The ranger page over the real controller: TestClient for pages and forms, a real uvicorn for the SSE feed."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from gpiozero.pins.mock import MockFactory

from gate.config import GateConfig, GateSettings, RangerSettings, RelaySettings, ServerSettings
from gate.controller import GateController
from gate.credentials import CardCredential, PlateCredential, QrCredential
from gate.frames import QueueFrameSource
from gate.plates.reader import PlateResult
from gate.store import GateStore
from gate.web import RangerServer, create_app
from gate.web.feed import Feed
from gate.web.sessions import hash_pin
from protocol import CardColumns, CardRole, Direction, ParkSettings, Reason, SigningKey, SyncPage, encode_token
from tests.gate.server_double import DEVICE_TOKEN, GateApi
from tests.gate.world import NOW, PARK, make_permit, sync_page

PIN = "4821"
RANGER_UID = "04A1B2C3"
WAIT_S = 20.0


@pytest.fixture(scope="module")
def pin_hash() -> str:
    return hash_pin(PIN)


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.reset()
    factory.close()


@pytest.fixture
def controller(tmp_path: Path, key: SigningKey, pins: MockFactory) -> Iterator[GateController]:
    config = GateConfig(
        gate=GateSettings(park=PARK, name="north-1", direction=Direction.ENTRY, data_dir=tmp_path),
        server=ServerSettings(url="http://server.test", device_token=DEVICE_TOKEN, sync_interval_s=0.05),
        relay=RelaySettings(pin=17, pulse_s=0.05),
    )
    with GateStore(config.gate.db_path) as store:
        store.apply_sync_page(sync_page("0", keys=[key], park=ParkSettings(slug=PARK, name="Altyn-Emel")))
        cards = CardColumns(
            uid=[RANGER_UID, "0A0B0C0D"],
            holder=["Aigerim Nurlanovna", "Serik"],
            role=[CardRole.RANGER, CardRole.STAFF],
            valid_from=[NOW - 86400, NOW - 86400],
            valid_until=[NOW + 86400, NOW + 86400],
            active=[True, True],
        )
        store.apply_sync_page(SyncPage(cursor="0", complete=True, cards=cards))
    gate = GateController(
        config,
        frame_source=QueueFrameSource(),
        pin_factory=pins,
        http_client=httpx.Client(transport=GateApi(key).transport()),
        clock=lambda: float(NOW),
    )
    yield gate
    gate.close()


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def _signed_in(client: TestClient) -> str:
    assert client.get("/login").status_code == 200
    response = client.post("/login", data={"pin": PIN}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    return _csrf(page.text)


def test_pages_need_a_session(controller: GateController, pin_hash: str) -> None:
    client = TestClient(create_app(controller, pin_hash))
    response = client.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    for path in ("/status.json", "/events", "/camera.jpg"):
        assert client.get(path).status_code == 401
    assert client.post("/open", data={"csrf": "x", "reason": "r"}).status_code == 401


def test_a_wrong_pin_is_refused_and_five_lock_the_form(controller: GateController, pin_hash: str) -> None:
    client = TestClient(create_app(controller, pin_hash))
    response = client.post("/login", data={"pin": "0000"}, follow_redirects=False)
    assert response.headers["location"] == "/login?error=pin"
    for _ in range(4):
        client.post("/login", data={"pin": "0000"})
    response = client.post("/login", data={"pin": PIN}, follow_redirects=False)
    assert response.headers["location"] == "/login?error=locked"  # even the right PIN waits a minute


def test_manual_open_needs_the_csrf_token_and_a_reason_then_is_recorded(
    controller: GateController, pin_hash: str, pins: MockFactory
) -> None:
    controller.start()
    client = TestClient(create_app(controller, pin_hash))
    csrf = _signed_in(client)
    assert client.post("/open", data={"csrf": "forged", "reason": "bus"}).status_code == 403
    response = client.post("/open", data={"csrf": csrf, "reason": "  "}, headers={"Accept-Language": "en"})
    assert response.status_code == 400 and "A reason is required" in response.text
    assert controller.store.events() == []
    response = client.post(
        "/open",
        data={"csrf": csrf, "reason": "paper permit checked", "note": "school bus", "people": "12"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    [event] = controller.store.events()
    assert event.reason is Reason.MANUAL and event.note == "paper permit checked: school bus" and event.people == 12
    pins.pin(17).assert_states([False, True])  # the relay pulsed
    page = client.get("/?done=opened", headers={"Accept-Language": "ru"})
    assert "Шлагбаум открыт, причина записана" in page.text and "Открыто инспектором" in page.text
    assert client.get("/status.json").json()["today"] == {
        "decisions": 1,
        "granted": 1,
        "refused": 0,
        "manual": 1,
        "people": 12,
    }


def test_status_and_languages(controller: GateController, pin_hash: str, key: SigningKey) -> None:
    client = TestClient(create_app(controller, pin_hash))
    _signed_in(client)
    controller.handle(QrCredential(encode_token(make_permit(park="other-park"), key)))
    kk = client.get("/", headers={"Accept-Language": "kk, ru;q=0.5"}).text
    assert "Рұқсатнама басқа саябаққа берілген" in kk and "Қолмен ашу" in kk
    en = client.get("/lang/en", headers={"Referer": "http://testserver/"}, follow_redirects=True)
    assert "Permit is for another park" in en.text and "Manual open" in en.text
    status = client.get("/status.json").json()
    assert status["gate"] == "north-1" and status["outbox"] == 1 and not status["clock"]["suspect"]
    assert status["disk"]["alarm"] is False and status["today"]["refused"] == 1
    assert client.get("/camera.jpg").status_code == 404  # no frame yet
    controller.last_frame = np.full((48, 64, 3), 120, dtype=np.uint8)
    jpeg = client.get("/camera.jpg")
    assert jpeg.status_code == 200 and jpeg.content[:2] == b"\xff\xd8"


def test_a_ranger_card_signs_the_waiting_login_page_in(controller: GateController, pin_hash: str) -> None:
    client = TestClient(create_app(controller, pin_hash))
    assert client.get("/login").status_code == 200
    assert client.get("/login/card").json() == {"signed_in": False}
    controller.handle(CardCredential("0A0B0C0D"))  # a staff card is no ranger card
    assert client.get("/login/card").json() == {"signed_in": False}
    controller.handle(CardCredential(RANGER_UID))
    assert client.get("/login/card").json() == {"signed_in": True}
    page = client.get("/")
    assert page.status_code == 200 and "Aigerim Nurlanovna" in page.text
    assert client.get("/login/card").json() == {"signed_in": False}  # used once


def test_the_live_feed_streams_decisions_over_a_real_server(
    controller: GateController, pin_hash: str, key: SigningKey
) -> None:
    settings = RangerSettings(port=0, host="127.0.0.1", pin_hash=pin_hash)
    server = RangerServer(controller, settings)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=WAIT_S) as client:
            client.post("/login", data={"pin": PIN})
            permit = make_permit()
            got: list[str] = []
            with client.stream("GET", "/events") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                threading.Timer(0.2, lambda: controller.handle(QrCredential(encode_token(permit, key)))).start()
                for line in stream.iter_lines():
                    if line.startswith("data: "):
                        got.append(line)
                        break
            [data] = got
            assert permit.id_text in data and "2+1+0" in data and "granted" in data
    finally:
        server.stop()


def test_a_plate_decision_shows_the_crop_it_was_read_from(controller: GateController, pin_hash: str) -> None:
    client = TestClient(create_app(controller, pin_hash))
    _signed_in(client)
    crop = np.full((40, 160, 3), 200, dtype=np.uint8)
    controller._on_plate(PlateResult("777ABE01", "KZ", "kz_2012", 0.91, crop, 2))  # what the plate reader hands over
    decision = controller.handle(PlateCredential("777ABE01", 0.91, "KZ"))
    assert decision.reason is Reason.UNKNOWN_PLATE
    match = re.search(r'<img src="(/plate/([0-9a-f]+)-(\d+)\.jpg)"', client.get("/").text)
    assert match, "no plate crop in the feed"
    jpeg = client.get(match.group(1))
    assert jpeg.status_code == 200 and jpeg.content[:2] == b"\xff\xd8"
    assert client.get(f"/plate/00000000-{match.group(3)}.jpg").status_code == 404  # another run of the gate
    assert client.get("/plate/x.jpg").status_code == 404


def test_a_page_from_before_a_gate_restart_gets_the_new_feed_from_its_start() -> None:
    feed = Feed()
    assert feed.position(None) == 0 and feed.position(feed.mark(7)) == 7
    restarted = Feed()
    assert restarted.epoch != feed.epoch
    assert restarted.position(feed.mark(7)) == 0  # not "after 7": the new run counts from 1 again
    for mark in ("7", "-", f"{restarted.epoch}-x", f"{restarted.epoch}-\u0663"):
        assert restarted.position(mark) == 0


def test_every_answer_carries_the_security_headers(controller: GateController, pin_hash: str) -> None:
    client = TestClient(create_app(controller, pin_hash))
    answers = {"/login": client.get("/login"), "/static/ranger.js": client.get("/static/ranger.js")}
    answers["/status.json (401)"] = client.get("/status.json")
    _signed_in(client)
    answers |= {"/": client.get("/"), "/status": client.get("/status"), "/status.json": client.get("/status.json")}
    for where, response in answers.items():
        policy = response.headers.get("content-security-policy", "")
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
        assert directives.get("script-src") == "'self'" and directives.get("style-src") == "'self'", where
        assert directives.get("frame-ancestors") == "'none'" and "unsafe" not in policy, where
        assert response.headers.get("x-content-type-options") == "nosniff", where
        assert response.headers.get("x-frame-options") == "DENY", where
        assert response.headers.get("referrer-policy") == "same-origin", where
    # the pages start their script by its tag, as the policy allows no inline script
    assert '<script src="/static/ranger.js" data-start="live"></script>' in answers["/"].text
    assert '<script src="/static/ranger.js" data-start="card"></script>' in answers["/login"].text


@pytest.mark.parametrize(
    "form",
    [
        {"reason": "paper permit\x00checked"},
        {"reason": "ambulance", "note": "\x1b[31mred"},
        {"reason": "bus\u202eevil"},  # a right-to-left override: the log would read differently
    ],
    ids=["nul-in-reason", "escape-in-note", "bidi-override"],
)
def test_manual_open_refuses_control_characters_and_records_nothing(
    controller: GateController, pin_hash: str, pins: MockFactory, form: dict[str, str]
) -> None:
    controller.start()
    client = TestClient(create_app(controller, pin_hash))
    csrf = _signed_in(client)
    response = client.post("/open", data={"csrf": csrf, **form}, headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "The reason and note may not contain control characters" in response.text
    assert controller.store.events() == []
    pins.pin(17).assert_states([False])  # the barrier did not move

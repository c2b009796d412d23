"""The ranger page in Debian's Chromium, served by a real gate: a controller with the simulator's camera (QR
codes rendered into frames), an EM4100 reader on a real pty and mock GPIO pins, deciding offline-first
against a synced SQLite store, with its page on uvicorn (``RangerServer``).

A ranger signs in on a phone (a wrong PIN refused), sees decisions arrive in the live feed over SSE as
visitors show a QR and tap a card, opens the barrier by hand (an empty reason refused, in the page's
language, by the browser and by the gate), finds it recorded as a ``manual`` event, and switches kk/ru/en.
The gate's kiosk touchscreen (800 × 480, landscape) signs in with a ranger card and keeps the newest
decisions and the manual open on screen without scrolling. Screenshots go to the screenshot directory.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory
from playwright.sync_api import Browser, Page, Playwright, expect

from gate.config import GateConfig, GateSettings, RangerSettings, RelaySettings, ServerSettings
from gate.controller import GateController
from gate.credentials import QrCredential
from gate.frames import QueueFrameSource
from gate.locale import translator
from gate.readers.factory import open_reader
from gate.store import GateStore
from gate.web import RangerServer
from gate.web.sessions import hash_pin
from protocol import CardColumns, CardRole, Direction, ParkSettings, Reason, SigningKey, SyncPage, encode_token
from sim.camera import SimCamera
from sim.readers.em4100 import SimEm4100Module
from tests.browser.conftest import PHONE, TIMEZONE, assert_fits, csp_violations
from tests.gate.server_double import DEVICE_TOKEN, GateApi
from tests.gate.world import NOW, PARK, make_permit, sync_page

PIN = "4821"
RANGER_CARD = bytes.fromhex("0A1B2C3D4E")
RANGER = "Aigerim Nurlanovna"
KIOSK = {"width": 800, "height": 480}  # the common 7" touchscreen beside the barrier
RELAY_PIN = 17
WAIT_MS = 20_000  # a QR shown to the simulated camera, decoded and decided, reaches the page well within this


@dataclass
class Lane:
    """A running gate lane and its devices, as the test drives them."""

    url: str
    controller: GateController
    camera: SimCamera
    rfid: SimEm4100Module
    key: SigningKey
    pins: MockFactory

    def show_qr(self, text: str) -> None:
        """A visitor holds a phone with the permit's QR up to the camera."""
        self.camera.present(text, style="phone", frames=6)

    def manual_events(self) -> list[tuple[str | None, int]]:
        return [(e.note, e.people) for e in self.controller.store.events() if e.reason is Reason.MANUAL]


@pytest.fixture
def lane(tmp_path: Path) -> Iterator[Lane]:
    key = SigningKey.generate("k1")
    config = GateConfig(
        gate=GateSettings(park=PARK, name="north-1", direction=Direction.ENTRY, data_dir=tmp_path),
        server=ServerSettings(url="http://server.test", device_token=DEVICE_TOKEN, sync_interval_s=0.5),
        relay=RelaySettings(pin=RELAY_PIN, pulse_s=0.05),
    )
    with GateStore(config.gate.db_path) as store:
        store.apply_sync_page(sync_page("0", keys=[key], park=ParkSettings(slug=PARK, name="Altyn-Emel")))
        cards = CardColumns(
            uid=[RANGER_CARD.hex().upper()],
            holder=[RANGER],
            role=[CardRole.RANGER],
            valid_from=[NOW - 86400],
            valid_until=[NOW + 86400],
            active=[True],
        )
        store.apply_sync_page(SyncPage(cursor="0", complete=True, cards=cards))
    pins = MockFactory()
    frames = QueueFrameSource()
    with SimEm4100Module(tmp_path / "qaqpa-rfid0") as rfid:
        controller = GateController(
            config,
            frame_source=frames,
            pin_factory=pins,
            http_client=httpx.Client(transport=GateApi(key).transport()),
            clock=lambda: float(NOW),
            readers=[open_reader("door", "em4100", str(rfid.link))],
        )
        camera = SimCamera(frames, np.random.default_rng(6), difficulty="easy").start()
        controller.start()
        server = RangerServer(controller, RangerSettings(port=0, host="127.0.0.1", pin_hash=hash_pin(PIN)))
        server.start()
        try:
            yield Lane(server.url, controller, camera, rfid, key, pins)
        finally:
            server.stop()
            camera.stop()
            controller.close()
            pins.reset()
            pins.close()


@pytest.fixture
def open_lane_page(playwright: Playwright, browser: Browser, lane: Lane) -> Iterator[Callable[..., Page]]:
    """``open_lane_page(locale, kiosk=False)``: a page on the lane's ranger page, on a phone or the kiosk."""
    contexts = []

    def make(locale: str = "en-US", kiosk: bool = False) -> Page:
        options: dict[str, Any]
        if kiosk:
            options = {"viewport": KIOSK, "has_touch": True}
        else:
            options = {k: v for k, v in playwright.devices[PHONE].items() if k != "default_browser_type"}
        context = browser.new_context(**options, locale=locale, base_url=lane.url, timezone_id=TIMEZONE)
        context.set_default_timeout(WAIT_MS)
        violations.append(csp_violations(context))
        contexts.append(context)
        return context.new_page()

    violations: list[list[str]] = []
    yield make
    for context in contexts:
        context.close()
    assert [seen for found in violations for seen in found] == [], "the Content-Security-Policy blocked a page's part"


def _text(lang: str, english: str) -> str:
    """The catalogue's text in ``lang``; it must be translated, not the English fallback."""
    text = translator(lang)(english)
    assert lang == "en" or text != english, f"{english!r} has no {lang} translation"
    return text


def test_a_ranger_on_a_phone_signs_in_sees_live_decisions_and_opens_by_hand(
    lane: Lane, open_lane_page: Callable[..., Page], shot: Callable[[Page, str], Path]
) -> None:
    page = open_lane_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))  # no session: the sign-in page
    page.fill("#pin", "0000")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/login\?error=pin$"))
    expect(page.get_by_role("alert")).to_have_text("Wrong PIN")
    page.fill("#pin", PIN)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{lane.url}/")
    feed = page.locator("#feed > li")
    expect(feed).to_have_count(0)

    permit = make_permit()
    lane.show_qr(encode_token(permit, lane.key))
    expect(feed.first).to_contain_text(permit.id_text, timeout=WAIT_MS)  # pushed over SSE, no reload
    expect(feed.first).to_contain_text("Granted (permit not yet in the gate's list)")
    expect(feed.first).to_contain_text("Party 2+1+0")
    lane.rfid.tap(RANGER_CARD)
    expect(feed.first).to_contain_text(f"Card holder: {RANGER} (Ranger)")
    expect(feed).to_have_count(2)
    status = page.locator("#status")
    expect(status).to_contain_text("Reader door")
    expect(status.locator("dd.reader")).to_have_text("Connected")
    expect(status.locator("#today")).to_contain_text("Granted: 2")  # refreshed while the page is open
    expect(page.locator("#camera")).to_be_visible()  # the preview of the lane's camera

    # manual open: the reason is required, in the browser and at the gate
    page.locator("#manual summary").click()
    page.click("#open-form button[type=submit]")
    assert page.eval_on_selector("#reason", "e => e.validationMessage") == "A reason is required"
    page.fill("#reason", "   ")
    page.click("#open-form button[type=submit]")
    assert page.eval_on_selector("#reason", "e => e.validationMessage") == "A reason is required"
    expect(page).to_have_url(f"{lane.url}/")  # nothing was sent
    page.eval_on_selector("#open-form", "form => { form.noValidate = true; }")
    page.click("#open-form button[type=submit]")  # an old browser without validation: the gate refuses
    expect(page.locator("#manual").get_by_role("alert")).to_have_text("A reason is required")
    assert lane.manual_events() == []
    relay_before = len(lane.pins.pin(RELAY_PIN).states)
    page.fill("#reason", "paper permit checked")
    page.fill("#note", "school bus")
    page.fill("#people", "12")
    page.click("#open-form button[type=submit]")
    expect(page.locator("#done")).to_have_text("The barrier was opened and the reason recorded")
    expect(feed.first).to_contain_text("Opened by a ranger · 12 people")
    expect(feed.first).to_contain_text("paper permit checked: school bus")
    assert lane.manual_events() == [("paper permit checked: school bus", 12)]
    assert [s.state for s in lane.pins.pin(RELAY_PIN).states[relay_before:]][:1] == [True]  # the relay pulsed
    expect(status.locator("#today")).to_contain_text("Manual opens: 1")
    assert_fits(page)
    shot(page, "phone-en")

    for lang in ("kk", "ru"):
        page.locator(f"header a[lang={lang}]").click()
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.locator("#manual summary")).to_have_text(_text(lang, "Manual open"))
        expect(page.locator("#feed")).to_contain_text(_text(lang, "Opened by a ranger"))
        expect(page.locator("#feed")).to_contain_text(f"{RANGER} ({_text(lang, 'Ranger')})")
        other = make_permit(park="other-park")
        lane.show_qr(encode_token(other, lane.key))  # the live feed speaks the page's language too
        expect(feed.first).to_contain_text(other.id_text, timeout=WAIT_MS)
        expect(feed.first).to_contain_text(_text(lang, "Permit is for another park"))
        assert_fits(page)
        shot(page, f"phone-{lang}")


def test_the_kiosk_signs_in_with_a_ranger_card_and_keeps_the_newest_decisions_on_screen(
    lane: Lane, open_lane_page: Callable[..., Page], shot: Callable[[Page, str], Path]
) -> None:
    page = open_lane_page("kk-KZ", kiosk=True)
    page.goto("/login")
    expect(page.locator("#card-hint")).to_have_text(_text("kk", "Or tap your ranger card on the gate's reader"))
    lane.rfid.tap(RANGER_CARD)
    expect(page).to_have_url(f"{lane.url}/")  # the waiting page signed itself in
    expect(page.locator("#who")).to_have_text(RANGER)
    for _ in range(14):  # a busy morning: more decisions than the screen has room for
        lane.controller.handle(QrCredential(encode_token(make_permit(), lane.key)))
    last = make_permit()
    lane.show_qr(encode_token(last, lane.key))
    newest = page.locator("#feed > li").first
    expect(newest).to_contain_text(last.id_text, timeout=WAIT_MS)
    assert_fits(page)
    height = page.evaluate("[document.documentElement.scrollHeight, window.innerHeight]")
    assert height[0] <= height[1], f"the kiosk page scrolls: {height[0]} px on a {height[1]} px screen"
    for target in (newest, page.locator("#manual summary"), page.locator("#status h2")):
        box = target.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= KIOSK["height"], box
    shot(page, "kiosk-kk")
    page.locator("#manual summary").tap()
    page.fill("#reason", "ambulance")
    page.locator("#open-form button[type=submit]").tap()
    expect(page.locator("#done")).to_have_text(_text("kk", "The barrier was opened and the reason recorded"))
    expect(newest).to_contain_text(_text("kk", "Opened by a ranger"))
    assert lane.manual_events() == [("ambulance", 0)]
    shot(page, "kiosk-kk-opened")

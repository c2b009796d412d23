"""The whole lane: a rendered QR frame → decision → event in the store → the mock relay pin went high."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory

from gate.config import GateConfig, GateSettings, RelaySettings, ServerSettings
from gate.controller import Debouncer, GateController
from gate.credentials import CardCredential, QrCredential
from gate.decision import Decision
from gate.frames import QueueFrameSource
from gate.store import GateStore
from protocol import Direction, GateEvent, ParkSettings, Reason, SigningKey, encode_token
from tests.gate.server_double import DEVICE_TOKEN, GateApi
from tests.gate.test_qr import qr_frame
from tests.gate.world import NOW, PARK, make_permit, sync_page

WAIT_S = 20.0  # an upper bound for threads to get there, not a speed requirement


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.reset()
    factory.close()


def lane(tmp_path: Path, direction: Direction = Direction.ENTRY) -> GateConfig:
    return GateConfig(
        gate=GateSettings(park=PARK, name="north-1", direction=direction, data_dir=tmp_path, debounce_s=3.0),
        server=ServerSettings(url="http://server.test", device_token=DEVICE_TOKEN, sync_interval_s=0.05),
        relay=RelaySettings(pin=17, pulse_s=0.05),
    )


class Seen:
    """Collects decisions from the controller's listener and lets the test wait for the n-th."""

    def __init__(self) -> None:
        self.items: list[tuple[Decision, GateEvent]] = []
        self._cond = threading.Condition()

    def __call__(self, decision: Decision, event: GateEvent) -> None:
        with self._cond:
            self.items.append((decision, event))
            self._cond.notify_all()

    def wait_for(self, n: int) -> list[tuple[Decision, GateEvent]]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.items) >= n, WAIT_S), f"only {len(self.items)} decisions"
            return list(self.items)


def seed(config: GateConfig, key: SigningKey) -> None:
    with GateStore(config.gate.db_path) as store:
        store.apply_sync_page(sync_page("0", keys=[key], park=ParkSettings(slug=PARK, name="A")))


def test_frame_to_relay(tmp_path: Path, key: SigningKey, pins: MockFactory) -> None:
    config = lane(tmp_path)
    seed(config, key)
    api = GateApi(key)
    permit = make_permit()
    api.changes = [(permit, False)]
    source = QueueFrameSource()
    controller = GateController(
        config,
        frame_source=source,
        pin_factory=pins,
        http_client=httpx.Client(transport=api.transport()),
        clock=lambda: float(NOW),
    )
    seen = Seen()
    controller.add_listener(seen)
    controller.start()
    try:
        frame = qr_frame(encode_token(permit, key))
        for _ in range(3):  # one presentation seen in three frames is one decision
            source.push(frame)
        source.push(np.full((720, 1280, 3), 90, dtype=np.uint8))
        [(decision, event)] = seen.wait_for(1)
        assert decision.granted and decision.permit == permit
        assert event.permit_id == permit.id_text and event.people == 3
        assert controller.store.events() == [event]
        pins.pin(17).assert_states([False, True])  # the relay pulsed after the event was stored
        pins.pin(27).assert_states([False, True])  # green
    finally:
        controller.stop()
    # after stop the store and status stay readable (the simulator compares events then)
    status = controller.status()
    assert status["decisions"] == 1 and status["frames"] >= 1 and status["gate"] == "north-1"
    assert status["online"] and status["outbox"] == 0 and controller.store.lookup(permit.id) is not None
    controller.close()


def test_refusal_lights_red_and_keeps_the_barrier_shut(tmp_path: Path, key: SigningKey, pins: MockFactory) -> None:
    config = lane(tmp_path)
    seed(config, key)
    api = GateApi(key)
    controller = GateController(
        config,
        frame_source=QueueFrameSource(),
        pin_factory=pins,
        http_client=httpx.Client(transport=api.transport()),
        clock=lambda: float(NOW),
    )
    seen = Seen()
    controller.add_listener(seen)
    controller.start()
    try:
        controller.submit(CardCredential("DEADBEEF"))
        [(_, event)] = seen.wait_for(1)
        assert event.reason is Reason.UNKNOWN_CARD and not event.granted
        pins.pin(22).assert_states([False, True])  # red
        pins.pin(17).assert_states([False])  # relay never moved
    finally:
        controller.close()


def test_offline_decisions_are_flagged_and_uploaded_later(tmp_path: Path, key: SigningKey, pins: MockFactory) -> None:
    config = lane(tmp_path)
    seed(config, key)
    api = GateApi(key)
    api.down = True
    controller = GateController(
        config,
        frame_source=QueueFrameSource(),
        pin_factory=pins,
        http_client=httpx.Client(transport=api.transport()),
        clock=lambda: float(NOW),
    )
    seen = Seen()
    controller.add_listener(seen)
    controller.start()
    try:
        controller.submit(QrCredential(encode_token(make_permit(), key)))
        [(decision, event)] = seen.wait_for(1)
        assert decision.reason is Reason.GRANTED_UNLISTED
        assert set(event.flags) == {"unlisted", "offline"}
        assert controller.status()["online"] is False
        api.down = False
        controller.sync.wake()
        done = threading.Event()
        for _ in range(int(WAIT_S / 0.05)):
            if controller.store.outbox_depth() == 0:
                done.set()
                break
            controller.sync.wake()
            done.wait(0.05)
        assert done.is_set(), "outbox never drained"
        assert set(api.events) == {event.id}
    finally:
        controller.close()


def test_debouncer() -> None:
    debounce = Debouncer(3.0)
    assert debounce.fresh("a", 0.0)
    assert not debounce.fresh("a", 1.0)
    assert debounce.fresh("b", 1.5)
    assert not debounce.fresh("a", 3.5)  # still being shown: the window restarts with every sighting
    assert debounce.fresh("a", 7.0)

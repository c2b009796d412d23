"""Card readers wired into the lane: a read → CardCredential → decision → relay and the reader's own LED.

The readers here implement the ``CardReader`` interface directly (a reader is a device behind an
interface; the protocol drivers have their own tests); one test builds real readers from gate.toml.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gpiozero.pins.mock import MockFactory

from gate.config import GateConfig, config_from_dict
from gate.controller import GateController
from gate.credentials import CardCredential
from gate.errors import ConfigError
from gate.frames import QueueFrameSource
from gate.readers.base import CardCallback, CardRead, ReaderHealth
from gate.store import GateStore
from protocol import CardRole, ParkSettings, Reason, SigningKey
from tests.gate.server_double import DEVICE_TOKEN, GateApi
from tests.gate.test_controller import Seen, lane
from tests.gate.world import NOW, PARK, card_page, sync_page

RANGER, RESIDENT = "0A1B2C3D4E", "04A1B2C3D4E5F6"


class TapReader:
    """A card reader a test taps cards on; it records what the gate showed on it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.shown: list[bool] = []
        self.running = False
        self._on_card: CardCallback | None = None
        self._shown = threading.Condition()

    def start(self, on_card: CardCallback) -> None:
        self._on_card = on_card
        self.running = True

    def stop(self) -> None:
        self.running = False

    def health(self) -> ReaderHealth:
        return ReaderHealth(self.name, "tap", f"tap://{self.name}", connected=self.running)

    def show(self, granted: bool) -> None:
        with self._shown:
            self.shown.append(granted)
            self._shown.notify_all()

    def tap(self, uid: str) -> None:
        assert self._on_card is not None, "the gate never started this reader"
        self._on_card(CardRead(uid=uid, protocol="tap"))

    def wait_shown(self, n: int) -> list[bool]:
        with self._shown:
            assert self._shown.wait_for(lambda: len(self.shown) >= n, 20.0), self.shown
            return list(self.shown)


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.reset()
    factory.close()


def seeded(tmp_path: Path, key: SigningKey) -> GateConfig:
    config = lane(tmp_path)
    with GateStore(config.gate.db_path) as store:
        store.apply_sync_page(sync_page("0", keys=[key], park=ParkSettings(slug=PARK, name="A")))
        store.apply_sync_page(card_page("1", [(RANGER, CardRole.RANGER, True), (RESIDENT, CardRole.RESIDENT, True)]))
    return config


def controller_for(config: GateConfig, key: SigningKey, pins: MockFactory, *readers: TapReader) -> GateController:
    api = GateApi(key)
    api.down = True  # the lane decides offline from what it synced; no server needed
    return GateController(
        config,
        frame_source=QueueFrameSource(),
        pin_factory=pins,
        http_client=httpx.Client(transport=api.transport()),
        clock=lambda: float(NOW),
        readers=list(readers),
    )


def test_a_tapped_card_opens_the_gate_and_the_reader_shows_it(
    tmp_path: Path, key: SigningKey, pins: MockFactory
) -> None:
    door, side = TapReader("door"), TapReader("side")
    controller = controller_for(seeded(tmp_path, key), key, pins, door, side)
    seen = Seen()
    controller.add_listener(seen)
    controller.start()
    try:
        assert door.running and side.running
        door.tap(RESIDENT)
        [(decision, event)] = seen.wait_for(1)
        assert decision.granted and event.card_uid == RESIDENT and event.category == "resident"
        assert event.people == 1 and event.credential.value == "card"
        assert door.wait_shown(1) == [True]
        pins.pin(17).assert_states([False, True])  # the relay pulsed
        side.tap("DEADBEEF")
        assert side.wait_shown(1) == [False]
        assert seen.wait_for(2)[1][1].reason is Reason.UNKNOWN_CARD
        assert door.shown == [True]  # each reader shows only its own cards' decisions
        readers = controller.status()["readers"]
        assert [(r["name"], r["connected"]) for r in readers] == [("door", True), ("side", True)]
    finally:
        controller.close()
    assert not door.running and not side.running
    stored = GateStore(tmp_path / "gate.db")
    assert [e.card_uid for e in stored.events()] == [RESIDENT, "DEADBEEF"]
    stored.close()


def test_a_card_held_to_the_reader_is_one_presentation(tmp_path: Path, key: SigningKey, pins: MockFactory) -> None:
    door = TapReader("door")
    controller = controller_for(seeded(tmp_path, key), key, pins, door)
    seen = Seen()
    controller.add_listener(seen)
    controller.start()
    try:
        for _ in range(5):
            door.tap(RANGER)
        door.tap(RESIDENT)
        decisions = seen.wait_for(2)
        assert [d.card_uid for d, _ in decisions] == [RANGER, RESIDENT]
        assert [d.reason for d, _ in decisions] == [Reason.GRANTED, Reason.GRANTED]
        assert decisions[0][0].people == 0  # a ranger is logged, not counted
    finally:
        controller.close()
    assert controller.decisions == 2


def test_a_full_queue_drops_reads_without_blocking_the_reader(
    tmp_path: Path, key: SigningKey, pins: MockFactory, caplog: pytest.LogCaptureFixture
) -> None:
    door = TapReader("door")
    controller = controller_for(seeded(tmp_path, key), key, pins, door)

    # the decision thread is not running: nothing drains the queue
    def on_card(read: CardRead) -> None:
        controller.offer_card(CardCredential(read.uid, reader="door"))

    door.start(on_card)
    try:
        with caplog.at_level(logging.WARNING, logger="gate.controller"):
            for n in range(70):
                door.tap(f"{n:08X}")
        assert controller.cards_dropped == 6
        assert controller.status()["queued"] == 64
        assert "decision queue full" in caplog.text
        assert not controller.offer_card(CardCredential(f"{0:08X}", reader="door"))  # debounced
    finally:
        controller.close()


def test_readers_come_from_gate_toml(tmp_path: Path) -> None:
    pytest.importorskip("gate.readers.ascii_line")
    config = config_from_dict(
        {
            "gate": {"park": PARK, "name": "n1", "data_dir": str(tmp_path)},
            "server": {"url": "http://server.test", "device_token": DEVICE_TOKEN},
            "readers": [{"name": "usb", "protocol": "ascii", "port": "loop://", "format": "decimal"}],
        }
    )
    controller = GateController(config, frame_source=QueueFrameSource(), pin_factory=MockFactory())
    controller.start()
    try:
        [health] = controller.status()["readers"]
        assert (health["name"], health["protocol"], health["port"]) == ("usb", "ascii", "loop://")
    finally:
        controller.close()


BASE = {
    "gate": {"park": PARK, "name": "n1"},
    "server": {"url": "http://server.test", "device_token": DEVICE_TOKEN},
}
OSDP_KEY = "000102030405060708090a0b0c0d0e0f"


def test_reader_tables() -> None:
    config = config_from_dict(
        {
            **BASE,
            "readers": [
                {"name": "em", "protocol": "em4100", "port": "/dev/ttyAMA0"},
                {"name": "bus", "protocol": "osdp", "port": "/dev/ttyUSB0", "baudrate": 115200, "scbk": OSDP_KEY},
                {"name": "usb", "protocol": "ascii", "port": "/dev/ttyACM0", "format": "wiegand26", "wiegand_base": 10},
            ],
        }
    )
    em, bus, usb = config.readers
    assert (em.name, em.protocol, em.port, em.open_kwargs()) == ("em", "em4100", "/dev/ttyAMA0", {})
    assert bus.open_kwargs() == {"baudrate": 115200, "scbk": bytes(range(16))}
    assert usb.open_kwargs() == {"fmt": "wiegand26", "wiegand_base": 10}
    assert config_from_dict(BASE).readers == ()


@pytest.mark.parametrize(
    ("reader", "message"),
    [
        ({"protocol": "em4100", "port": "/dev/x"}, "readers[0].name is required"),
        ({"name": "a", "protocol": "wiegand", "port": "/dev/x"}, "readers[0].protocol must be one of"),
        ({"name": "a", "protocol": "em4100", "port": ""}, "readers[0].port must be a non-empty string"),
        ({"name": "a", "protocol": "em4100", "port": "/dev/x", "baudrate": 0}, "baudrate must be a positive"),
        ({"name": "a", "protocol": "em4100", "port": "/dev/x", "format": "hex"}, "unknown key(s): format"),
        ({"name": "a", "protocol": "ascii", "port": "/dev/x", "format": "octal"}, "format must be one of"),
        ({"name": "a", "protocol": "ascii", "port": "/dev/x", "decimal_bytes": 17}, "decimal_bytes must be"),
        ({"name": "a", "protocol": "osdp", "port": "/dev/x", "scbk": "0011"}, "scbk must be 16 bytes"),
        ({"name": "a", "protocol": "osdp", "port": "/dev/x", "scbk": "zz" * 16}, "scbk must be 16 bytes"),
        ({"name": "a", "protocol": "osdp", "port": "/dev/x", "address": 127}, "address must be an integer"),
    ],
)
def test_bad_reader_tables_name_the_key(reader: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_dict({**BASE, "readers": [reader]})
    assert message in str(caught.value)


def test_reader_names_are_unique_and_readers_is_an_array() -> None:
    twice = {"name": "a", "protocol": "em4100", "port": "/dev/x"}
    with pytest.raises(ConfigError, match="used by another reader"):
        config_from_dict({**BASE, "readers": [twice, twice]})
    with pytest.raises(ConfigError, match=r"\[\[readers\]\]"):
        config_from_dict({**BASE, "readers": twice})

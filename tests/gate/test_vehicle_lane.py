"""A vehicle lane's configuration and controller: [plates] parsing, the reader loaded only where plates are
read, plates and no-reads from the reader, the plate/QR cross-check, and a ranger's manual open."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory

from gate.config import GateConfig, GateSettings, RelaySettings, ServerSettings, config_from_dict
from gate.controller import GateController
from gate.credentials import PlateCredential, QrCredential
from gate.errors import ConfigError, GateError
from gate.frames import QueueFrameSource
from gate.plates.reader import PlateResult
from gate.plates.settings import PlateSettings
from gate.store import GateStore
from protocol import CredentialKind, ParkSettings, Reason, SigningKey, encode_token
from tests.gate.server_double import DEVICE_TOKEN, GateApi
from tests.gate.test_controller import Seen
from tests.gate.world import NOW, PARK, make_permit, sync_page

BASE: dict[str, Any] = {
    "gate": {"park": PARK, "name": "west-car"},
    "server": {"url": "http://server.test", "device_token": "qd_x"},
}


def test_a_vehicle_lane_by_lane_or_by_plates_enabled() -> None:
    assert config_from_dict(BASE).plates is None
    assert not config_from_dict({**BASE, "plates": {"enabled": False, "votes_needed": 3}}).vehicle_lane
    by_lane = config_from_dict({**BASE, "gate": {**BASE["gate"], "lane": "vehicle"}}).plates
    assert by_lane is not None and by_lane.reader == PlateSettings() and by_lane.qr_window_s == 10.0
    plates = {
        "enabled": True,
        "countries": ["KZ", "RU"],
        "roi": [0, 0.25, 1, 0.75],
        "trigger": "always",
        "votes_needed": 3,
        "min_confidence": 0.6,
        "min_char_px": 20,
        "qr_window_s": 5,
    }
    lane = config_from_dict({**BASE, "plates": plates}).plates
    assert lane is not None and lane.qr_window_s == 5.0
    assert lane.reader.countries == ("KZ", "RU") and lane.reader.roi == (0.0, 0.25, 1.0, 0.75)
    assert (lane.reader.trigger, lane.reader.votes_needed, lane.reader.min_confidence) == ("always", 3, 0.6)
    assert lane.reader.min_char_px == 20.0


@pytest.mark.parametrize(
    ("gate", "plates", "message"),
    [
        ({"lane": "boat"}, None, "gate.lane must be one of"),
        ({"lane": "vehicle"}, {"enabled": False}, "contradicts"),
        ({}, {"enabled": "yes"}, "plates.enabled"),
        ({}, {"enabled": True, "colour": "red"}, "unknown key"),
        ({}, {"enabled": True, "countries": ["DE"]}, "plates.countries"),
        ({}, {"enabled": True, "countries": "KZ"}, "plates.countries must be an array"),
        ({}, {"enabled": True, "roi": [0, 0, 2, 1]}, "plates.roi"),
        ({}, {"enabled": True, "trigger": "radar"}, "plates.trigger"),
        ({}, {"enabled": True, "trigger": "loop"}, "loop_pin"),
        ({}, {"enabled": True, "votes_needed": "two"}, "plates.votes_needed"),
        ({}, {"enabled": True, "qr_window_s": -1}, "plates.qr_window_s"),
    ],
)
def test_bad_plate_settings_name_the_key(gate: dict[str, Any], plates: dict[str, Any] | None, message: str) -> None:
    data: dict[str, Any] = {**BASE, "gate": {**BASE["gate"], **gate}}
    if plates is not None:
        data["plates"] = plates
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data)


def test_a_qr_only_gate_never_imports_the_plate_reader() -> None:
    # a fresh interpreter: this test process has imported gate.plates already
    code = (
        "import sys\n"
        "from gate.config import config_from_dict\n"
        "import gate.controller\n"
        f"config = config_from_dict({BASE!r})\n"
        "loaded = sorted(m for m in ('torch', 'easyocr', 'gate.plates') if m in sys.modules)\n"
        "print(','.join(loaded) or 'none')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert result.stdout.strip() == "none"


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.reset()
    factory.close()


def controller_for(tmp_path: Path, key: SigningKey, pins: MockFactory, vehicle: bool) -> GateController:
    config = GateConfig(
        gate=GateSettings(park=PARK, name="west-car", data_dir=tmp_path, lane="vehicle" if vehicle else "pedestrian"),
        server=ServerSettings(url="http://server.test", device_token=DEVICE_TOKEN, sync_interval_s=3600),
        relay=RelaySettings(pin=17, pulse_s=0.05),
    )
    if vehicle:
        config = config_from_dict(
            {
                "gate": {"park": PARK, "name": "west-car", "data_dir": str(tmp_path), "lane": "vehicle"},
                "server": {"url": "http://server.test", "device_token": DEVICE_TOKEN, "sync_interval_s": 3600},
                "relay": {"pin": 17, "pulse_s": 0.05},
            }
        )
    with GateStore(config.gate.db_path) as store:
        store.apply_sync_page(sync_page("0", keys=[key], park=ParkSettings(slug=PARK, name="A")))
    return GateController(
        config,
        frame_source=QueueFrameSource(),
        pin_factory=pins,
        http_client=httpx.Client(transport=GateApi(key).transport()),
        clock=lambda: float(NOW),
        readers=[],
    )


def test_a_manual_open_records_the_reason_then_pulses_the_relay(
    tmp_path: Path, key: SigningKey, pins: MockFactory
) -> None:
    controller = controller_for(tmp_path, key, pins, vehicle=False)
    seen = Seen()
    controller.add_listener(seen)
    controller.start()
    try:
        for bad, kwargs in (("  ", {}), ("x" * 501, {}), ("ok", {"people": -1}), ("ok", {"people": True})):
            with pytest.raises(GateError):
                controller.manual_open(bad, **kwargs)
        assert controller.store.events() == []
        decision = controller.manual_open("paper permit checked", "bus of schoolchildren", people=30, plate="777ABE01")
        assert (decision.reason, decision.granted, decision.people) == (Reason.MANUAL, True, 30)
        [(_, event)] = seen.wait_for(1)
        assert event.credential is CredentialKind.MANUAL and event.plate == "777ABE01"
        assert event.note == "paper permit checked: bus of schoolchildren"
        assert controller.store.events() == [event]
        pins.pin(17).assert_states([False, True])  # the relay pulsed after the event was stored
    finally:
        controller.close()


def test_plates_from_the_reader_reach_the_decision_and_the_qr_check(
    tmp_path: Path, key: SigningKey, pins: MockFactory
) -> None:
    controller = controller_for(tmp_path, key, pins, vehicle=True)
    seen = Seen()
    controller.add_listener(seen)
    try:
        assert controller.status()["plates"]["running"] is False  # the reader (and torch) comes with start()
        # the reader's thread reports an accepted plate: it is queued for decide() and is the car at the barrier
        controller._on_plate(PlateResult("777ABE01", "KZ", "kz_2012", 0.91, None, 2))
        credential = controller._queue.get_nowait()
        assert credential == PlateCredential("777ABE01", 0.91, "KZ")
        assert controller.handle(credential).reason is Reason.UNKNOWN_PLATE
        assert controller.recent_plate() == "777ABE01"
        controller._on_plate(PlateResult("777ABE01", "KZ", "kz_2012", 0.9, None, 2))
        assert controller._queue.empty()  # the same car standing is one presentation
        # a vehicle permit for another car shown meanwhile is refused
        permit = make_permit(plate="123ABC02")
        refused = controller.handle(QrCredential(encode_token(permit, key)))
        assert (refused.reason, refused.plate) == (Reason.PLATE_MISMATCH, "777ABE01")
        # a no-read is no decision: the ranger sees it, with the crop saved
        crop = np.full((64, 256), 200, dtype=np.uint8)
        controller._on_plate(PlateResult(None, None, None, 0.2, crop, 1))
        no_read = controller.status()["plates"]["last_no_read"]
        assert no_read["votes"] == 1 and Path(no_read["crop"]).is_file()
        assert Path(no_read["crop"]).parent == tmp_path / "plates"
        assert controller._queue.empty() and len(controller.store.events()) == 2
    finally:
        controller.close()


def test_a_cars_plate_and_its_permits_qr_are_one_entry(tmp_path: Path, key: SigningKey, pins: MockFactory) -> None:
    controller = controller_for(tmp_path, key, pins, vehicle=True)
    assert controller.policy.vehicle_window_s == 10.0  # [plates] qr_window_s
    permit = make_permit(plate="123ABC02", party=(2, 2, 0))
    controller.store.apply_sync_page(sync_page("1", [(permit, False)], plates=True))
    seen = Seen()
    controller.add_listener(seen)
    try:
        controller._on_plate(PlateResult("123ABC02", "KZ", "kz_2012", 0.93, None, 2))
        admitted = controller.handle(controller._queue.get_nowait())
        assert (admitted.reason, admitted.people, admitted.permit_id) == (Reason.GRANTED, 4, permit.id)
        # the driver holds up the QR of the same permit: no second entry, no refusal, nothing recorded
        again = controller.handle(QrCredential(encode_token(permit, key)))
        assert (again.granted, again.repeat, again.people) == (True, True, 0)
        events = controller.store.events()
        assert [(e.credential, e.reason, e.people) for e in events] == [(CredentialKind.PLATE, Reason.GRANTED, 4)]
        assert len(seen.items) == 1  # the ranger's feed and the barrier saw the plate's decision alone
    finally:
        controller.close()

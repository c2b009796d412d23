"""gate.events.make_event: every event a gate records is one a server takes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from gate.config import GateConfig, GateSettings, ServerSettings
from gate.controller import GateController
from gate.decision import Decision
from gate.errors import GateError
from gate.events import make_event
from gate.frames import QueueFrameSource
from protocol import CredentialKind, Direction, Reason
from sim.server_proc import free_port
from tests.gate.world import NOW, PARK


def _decision(**fields: object) -> Decision:
    base: dict[str, object] = {
        "reason": Reason.UNKNOWN_PLATE,
        "granted": False,
        "direction": Direction.ENTRY,
        "credential": CredentialKind.PLATE,
        "at": NOW,
        "day": date(2025, 6, 15),
    }
    return Decision(**(base | fields))  # type: ignore[arg-type]


def test_what_the_camera_or_the_lists_hold_that_no_event_may_carry_is_left_out() -> None:
    unread = make_event(_decision(plate="#?!"))  # a plate with nothing readable: its raw text is no plate
    assert unread.plate is None and unread.reason is Reason.UNKNOWN_PLATE
    too_long = make_event(_decision(plate="A" * 40))
    assert too_long.plate is None
    odd_class = make_event(
        _decision(reason=Reason.GRANTED, granted=True, people=1, plate="123ABC02", vehicle_class="Bus\x00")
    )
    assert odd_class.category is None and odd_class.plate == "123ABC02" and odd_class.people == 1


def test_a_refused_decision_counts_nobody_and_flags_never_repeat() -> None:
    event = make_event(_decision(people=3, flags=("offline",)), extra_flags=("offline", "clock_suspect"))
    assert event.people == 0 and event.flags == ["offline", "clock_suspect"]


@pytest.fixture
def controller(tmp_path: Path) -> GateController:
    config = GateConfig(
        gate=GateSettings(park=PARK, name="north-1", data_dir=tmp_path / "gate"),
        server=ServerSettings(url=f"http://127.0.0.1:{free_port()}", device_token="qd_x", sync_interval_s=60),
    )
    return GateController(config, frame_source=QueueFrameSource(), pin_factory=MockFactory())


def test_a_manual_open_refuses_text_no_event_may_carry_and_records_nothing(controller: GateController) -> None:
    try:
        for reason, note in (("ambulance\x00", None), ("ambulance", "driver \u202eevil"), ("a\x1b[2J", None)):
            with pytest.raises(GateError, match="is not allowed in text"):
                controller.manual_open(reason, note)
        with pytest.raises(GateError, match="is not a plate"):
            controller.manual_open("held plate", plate="---")
        assert controller.store.summary()["events"] == 0
        controller.manual_open("paper permit checked", "two lines\nof note", people=2, plate="777 abe 01")
        (event,) = controller.store.events()
        assert event.plate == "777ABE01" and event.note == "paper permit checked: two lines\nof note"
    finally:
        controller.close()

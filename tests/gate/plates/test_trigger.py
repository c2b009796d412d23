"""Vehicle triggers on synthetic motion and on gpiozero's mock pins."""

from __future__ import annotations

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory

from gate.plates import LoopTrigger, MotionTrigger, PlateSettings, PlateSettingsError, make_trigger
from gate.plates.trigger import AlwaysTrigger


def _scene(car_x: int | None) -> np.ndarray:
    frame = np.full((720, 1280, 3), 90, dtype=np.uint8)
    frame[500:, :] = 60  # the road
    if car_x is not None:
        frame[300:600, car_x : car_x + 400] = (20, 20, 20)  # a dark car on a lighter road
    return frame


def test_still_scene_is_idle_and_a_car_driving_in_activates() -> None:
    trigger = MotionTrigger(hold_s=5.0)
    assert not any(trigger.update(_scene(None), t * 0.1) for t in range(10))
    assert trigger.update(_scene(400), 1.0)


def test_activity_holds_then_ends_once_the_car_stands_still_past_hold() -> None:
    trigger = MotionTrigger(hold_s=2.0, alpha=0.5)
    trigger.update(_scene(None), 0.0)
    assert trigger.update(_scene(400), 0.1)
    assert trigger.update(_scene(400), 1.5)  # standing at the barrier: still within the hold
    for t in range(20):  # the background learns the standing car
        trigger.update(_scene(400), 2.0 + t * 0.1)
    assert not trigger.update(_scene(400), 10.0)


def test_motion_outside_the_roi_is_ignored() -> None:
    trigger = MotionTrigger(roi=(0.0, 0.0, 0.25, 1.0))
    trigger.update(_scene(None), 0.0)
    assert not trigger.update(_scene(800), 0.1)


def test_loop_detector_on_mock_pins() -> None:
    factory = MockFactory()
    trigger = LoopTrigger(17, hold_s=1.0, pin_factory=factory)
    frame = _scene(None)
    pin = factory.pin(17)
    try:
        assert not trigger.update(frame, 0.0)
        pin.drive_low()  # the loop detector's relay closes: a vehicle over the loop
        assert trigger.update(frame, 1.0)
        pin.drive_high()
        assert trigger.update(frame, 1.5)  # within hold
        assert not trigger.update(frame, 2.5)
    finally:
        trigger.close()


def test_make_trigger_follows_settings() -> None:
    assert isinstance(make_trigger(PlateSettings(trigger="always")), AlwaysTrigger)
    assert isinstance(make_trigger(PlateSettings(trigger="motion")), MotionTrigger)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"trigger": "radar"},
        {"trigger": "loop"},
        {"roi": (0.5, 0.0, 0.8, 1.0)},
        {"votes_needed": 0},
        {"countries": (), "generic": False},
        {"min_confidence": 1.5},
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(PlateSettingsError):
        PlateSettings(**kwargs)  # type: ignore[arg-type]

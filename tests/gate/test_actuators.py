"""The relay and lights on gpiozero's mock pins: set at once by show(), switched off when the pulse ends."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date

import pytest
from gpiozero.pins.mock import MockFactory

from gate.actuators import Actuators
from gate.config import LightsSettings, RelaySettings
from gate.decision import Decision
from protocol import CredentialKind, Direction, Reason

PULSE_S = 0.2


def decision(reason: Reason) -> Decision:
    return Decision(reason, reason.admits, Direction.ENTRY, CredentialKind.PERMIT, 0.0, date(2026, 11, 25))


@pytest.fixture
def actuators() -> Iterator[tuple[Actuators, MockFactory]]:
    pins = MockFactory()
    devices = Actuators(RelaySettings(pin=17, pulse_s=PULSE_S), LightsSettings(green=27, red=22), pins)
    yield devices, pins
    devices.close()
    pins.reset()


def wait_until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "pin did not change in time"
        time.sleep(0.01)


def test_granted_opens_at_once_then_closes(actuators: tuple[Actuators, MockFactory]) -> None:
    devices, pins = actuators
    devices.show(decision(Reason.GRANTED))
    # set before show() returns: the relay command is not waiting on any thread
    assert pins.pin(17).state and pins.pin(27).state and not pins.pin(22).state
    wait_until(lambda: not pins.pin(17).state and not pins.pin(27).state)


def test_refusal_lights_red_and_never_touches_the_relay(actuators: tuple[Actuators, MockFactory]) -> None:
    devices, pins = actuators
    devices.show(decision(Reason.EXPIRED))
    assert pins.pin(22).state and not pins.pin(17).state
    wait_until(lambda: not pins.pin(22).state)
    assert not any(state for _, state in pins.pin(17).states)


def test_a_refusal_during_a_pulse_keeps_the_barrier_pulse_but_turns_green_off(
    actuators: tuple[Actuators, MockFactory],
) -> None:
    devices, pins = actuators
    devices.show(decision(Reason.GRANTED))
    devices.show(decision(Reason.ALREADY_INSIDE))
    assert pins.pin(17).state and pins.pin(22).state and not pins.pin(27).state
    wait_until(lambda: not pins.pin(17).state and not pins.pin(22).state)

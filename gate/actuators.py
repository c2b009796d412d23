"""The barrier relay and the green/red lights, through gpiozero.

On the Pi gpiozero picks its real pin factory (lgpio); elsewhere — no GPIO chip and no
``GPIOZERO_PIN_FACTORY`` — the mock factory, so the same controller runs on a laptop, in tests and in the
simulator.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gpiozero import LED, DigitalOutputDevice, GPIOZeroError
from gpiozero.pins.mock import MockFactory

from gate.config import LightsSettings, RelaySettings
from gate.decision import Decision
from gate.errors import GateError


def default_pin_factory() -> Any | None:
    """None (gpiozero chooses) on a Pi or when GPIOZERO_PIN_FACTORY is set; a MockFactory otherwise."""
    if os.environ.get("GPIOZERO_PIN_FACTORY") or Path("/dev/gpiochip0").exists():
        return None
    return MockFactory()


class Actuators:
    """Relay pulse and lights for a decision. ``show()`` returns at once; the pulse runs in the background."""

    def __init__(self, relay: RelaySettings, lights: LightsSettings, pin_factory: Any | None = None) -> None:
        factory = default_pin_factory() if pin_factory is None else pin_factory
        self.pulse_s = relay.pulse_s
        try:
            self.relay = DigitalOutputDevice(relay.pin, initial_value=False, pin_factory=factory)
            self.green = LED(lights.green, pin_factory=factory)
            self.red = LED(lights.red, pin_factory=factory)
        except (GPIOZeroError, OSError) as err:
            raise GateError(f"cannot set up relay/lights: {err}") from err

    def show(self, decision: Decision) -> None:
        """Open the barrier and light green for a granted decision; light red for a refusal."""
        if decision.granted:
            self.red.off()
            self.relay.blink(on_time=self.pulse_s, off_time=0, n=1, background=True)
            self.green.blink(on_time=self.pulse_s, off_time=0, n=1, background=True)
        else:
            self.green.off()
            self.red.blink(on_time=self.pulse_s, off_time=0, n=1, background=True)

    def close(self) -> None:
        for device in (self.relay, self.green, self.red):
            device.close()

"""The barrier relay and the green/red lights, through gpiozero.

On the Pi gpiozero picks its real pin factory (lgpio); elsewhere — no GPIO chip and no
``GPIOZERO_PIN_FACTORY`` — the mock factory, so the same controller runs on a laptop, in tests and in the
simulator.
"""

from __future__ import annotations

import os
import threading
import time
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
    """Relay pulse and lights for a decision.

    ``show()`` sets the pins at once — that is the relay command the lane's latency budget ends at — and one
    long-lived thread switches them off when the pulse is over. (gpiozero's ``blink(background=True)`` starts
    a new thread per call and waits for it to run: milliseconds on a busy Pi, on every decision.)
    """

    def __init__(self, relay: RelaySettings, lights: LightsSettings, pin_factory: Any | None = None) -> None:
        factory = default_pin_factory() if pin_factory is None else pin_factory
        self.pulse_s = relay.pulse_s
        try:
            self.relay = DigitalOutputDevice(relay.pin, initial_value=False, pin_factory=factory)
            self.green = LED(lights.green, pin_factory=factory)
            self.red = LED(lights.red, pin_factory=factory)
        except (GPIOZeroError, OSError) as err:
            raise GateError(f"cannot set up relay/lights: {err}") from err
        self._off_at: dict[Any, float] = {}  # device → monotonic time to switch it off
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._switch_off_when_due, name="gate-actuators", daemon=True)
        self._thread.start()

    def show(self, decision: Decision) -> None:
        """Open the barrier and light green for a granted decision; light red for a refusal."""
        with self._changed:
            due = time.monotonic() + self.pulse_s
            if decision.granted:
                self.red.off()
                self._off_at.pop(self.red, None)
                self.relay.on()
                self.green.on()
                self._off_at[self.relay] = self._off_at[self.green] = due
            else:
                self.green.off()
                self._off_at.pop(self.green, None)
                self.red.on()
                self._off_at[self.red] = due
            self._changed.notify()

    def _switch_off_when_due(self) -> None:
        with self._changed:
            while not self._closed:
                now = time.monotonic()
                for device, due in list(self._off_at.items()):
                    if due <= now:
                        device.off()
                        del self._off_at[device]
                wait = min(self._off_at.values(), default=now + 3600) - now
                self._changed.wait(wait)

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()
        self._thread.join(5.0)
        for device in (self.relay, self.green, self.red):
            device.close()

"""Vehicle triggers: is there a vehicle in the lane, so that the plate reader should look at this frame?

An idle lane must cost almost nothing, so the reader asks its trigger first:

- ``MotionTrigger`` — frame differencing inside a region of interest on a tiny gray copy of the frame
  (downscale, running background, threshold, minimum changed area); once motion was seen the lane stays
  active for ``hold_s`` seconds, long enough for a car to stop at the barrier and be read while it stands;
- ``LoopTrigger`` — an inductive loop detector's dry contact on a GPIO pin (gpiozero; mock pins off the Pi);
  active while the loop reports a vehicle and ``hold_s`` after it leaves;
- ``AlwaysTrigger`` — every frame (benchmarks, a lane whose camera sees only the stopping place).
"""

from __future__ import annotations

from typing import Any, Protocol

import cv2
import numpy as np

from gate.plates.errors import PlateSettingsError
from gate.plates.localise import Image
from gate.plates.settings import PlateSettings, roi_box

SMALL_WIDTH = 160


class VehicleTrigger(Protocol):
    def update(self, frame: Image, now: float) -> bool:
        """Whether a vehicle is in the lane at monotonic time ``now``, given the newest frame."""
        ...

    def close(self) -> None: ...


class AlwaysTrigger:
    """Every frame is read."""

    def update(self, frame: Image, now: float) -> bool:
        return True

    def close(self) -> None:
        return None


class MotionTrigger:
    """Motion in the region of interest → active for ``hold_s`` seconds.

    ``threshold`` is the gray-level change a pixel needs, ``min_area`` the fraction of the region's pixels
    that must change; the background follows the scene at rate ``alpha`` per frame so light drifting over
    the day is not motion.
    """

    def __init__(
        self,
        roi: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
        threshold: int = 25,
        min_area: float = 0.01,
        hold_s: float = 8.0,
        alpha: float = 0.05,
    ) -> None:
        if not 0 < threshold < 256 or not 0.0 < min_area < 1.0 or hold_s < 0 or not 0.0 < alpha <= 1.0:
            raise PlateSettingsError("motion trigger: threshold 1–255, min_area and alpha in (0, 1), hold_s ≥ 0")
        self.roi = roi
        self.threshold = threshold
        self.min_area = min_area
        self.hold_s = hold_s
        self.alpha = alpha
        self._background: np.ndarray[Any, np.dtype[np.float32]] | None = None
        self._active_until = -1.0
        self.last_changed = 0.0  # fraction of the region that changed in the last frame (for tuning)

    def _small(self, frame: Image) -> Image:
        x0, y0, x1, y1 = roi_box(self.roi, frame.shape)
        region = frame[y0:y1, x0:x1]
        rh, rw = region.shape[:2]
        size = (SMALL_WIDTH, max(1, round(rh * SMALL_WIDTH / max(rw, 1))))
        # resize first, then convert: the colour conversion then touches ~1/60 of the pixels
        small: Image = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
        if small.ndim == 3:
            small = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        blurred: Image = cv2.GaussianBlur(small, (5, 5), 0)  # sensor noise is not motion
        return blurred

    def update(self, frame: Image, now: float) -> bool:
        small = self._small(frame)
        if self._background is None or self._background.shape != small.shape:
            self._background = small.astype(np.float32)
            return now < self._active_until
        diff = cv2.absdiff(small, cv2.convertScaleAbs(self._background))
        changed = float(np.count_nonzero(diff > self.threshold)) / diff.size
        self.last_changed = changed
        cv2.accumulateWeighted(small, self._background, self.alpha)
        if changed >= self.min_area:
            self._active_until = now + self.hold_s
        return now < self._active_until

    def close(self) -> None:
        self._background = None


# a loop detector reports presence itself: its output drops as the car drives off, and the next car's
# arrival must start a new vote, so the hold only bridges a chattering contact
LOOP_HOLD_S = 0.5


class LoopTrigger:
    """An inductive loop detector's output on a GPIO pin: active while it sees a vehicle, and ``hold_s`` after.

    ``pin_factory`` is gpiozero's (``MockFactory`` off the Pi); the loop detector's relay pulls the pin low
    when a vehicle is over the loop, hence ``pull_up``.
    """

    def __init__(
        self, pin: int | str, hold_s: float = LOOP_HOLD_S, pin_factory: Any | None = None, pull_up: bool = True
    ) -> None:
        from gpiozero import DigitalInputDevice
        from gpiozero.exc import GPIOZeroError

        try:
            self._device = DigitalInputDevice(pin, pull_up=pull_up, pin_factory=pin_factory)
        except GPIOZeroError as err:
            raise PlateSettingsError(f"plates.loop_pin {pin!r}: {err}") from err
        self.hold_s = hold_s
        self._active_until = -1.0

    def update(self, frame: Image, now: float) -> bool:
        if self._device.is_active:
            self._active_until = now + self.hold_s
            return True
        return now < self._active_until

    def close(self) -> None:
        self._device.close()


def make_trigger(settings: PlateSettings, pin_factory: Any | None = None) -> VehicleTrigger:
    """The trigger ``settings.trigger`` names; motion holds long enough to reach a no-read."""
    hold_s = settings.no_read_after_s + 2.0
    if settings.trigger == "always":
        return AlwaysTrigger()
    if settings.trigger == "loop":
        assert settings.loop_pin is not None  # PlateSettings refuses a loop trigger without a pin
        return LoopTrigger(settings.loop_pin, hold_s=LOOP_HOLD_S, pin_factory=pin_factory)
    return MotionTrigger(settings.roi, hold_s=hold_s)

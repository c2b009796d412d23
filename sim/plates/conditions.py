"""The conditions a plate is seen in, and the ranges each named condition draws its parameters from.

A ``Condition`` holds every number that shapes how the plate looks in the frame, so a benchmark can
break its accuracy down by them (plate width, tilt, blur, night, dirt, …).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from sim.errors import RenderError

Dirt = Literal["mud", "snow"]
CONDITIONS: tuple[str, ...] = ("day", "night", "glare", "tilt", "blur", "lowres", "dirt", "frame", "multi")


@dataclass(frozen=True)
class Condition:
    """The parameters of one frame's viewing conditions."""

    name: str
    plate_width_px: float  # width of the plate in the frame when seen head-on
    roll_deg: float  # in-plane rotation of the plate (camera roll, a sloping road)
    yaw_deg: float  # the car turned left/right relative to the camera
    pitch_deg: float  # the camera looking down on the plate
    night: bool  # infrared at night: grey frame, dark surroundings, retro-reflective plate saturated
    glare: float  # strength of the headlights' bloom, grey levels (0 = none)
    blur_sigma: float  # defocus, pixels
    motion_px: float  # motion blur length, pixels (0 = none)
    motion_deg: float
    dirt: Dirt | None
    dirt_amount: float  # fraction of the plate's face touched by mud or snow
    frame_text: str | None  # a dealer's plate frame and what it says
    other_cars: int  # further cars in view, with plates at a smaller scale
    exposure: float  # gain on the whole frame
    noise_sigma: float  # grey levels
    jpeg_quality: int


_DEALERS = (
    "TOYOTA CENTRE ALMATY",
    "HYUNDAI ASTANA MOTORS",
    "KIA QAZAQSTAN",
    "LADA ORAL",
    "MERCUR AUTO",
    "CHEVROLET SHYMKENT",
    "ASTANA MOTORS",
    "BIPEK AUTO",
    "JAC KOSTANAY",
    "AVTOCENTR KARAGANDA",
)


def sample_condition(rng: np.random.Generator, name: str = "day") -> Condition:
    """Draw a condition of kind ``name`` (one of ``CONDITIONS``).

    Each kind is the clean "day" view plus its own trouble, so a benchmark can tell which trouble costs.
    """
    if name not in CONDITIONS:
        raise RenderError(f"unknown plate condition {name!r}; choose one of {list(CONDITIONS)}")
    u = rng.uniform
    width = float(u(150.0, 300.0))
    roll, yaw, pitch = float(u(-3.0, 3.0)), float(u(-8.0, 8.0)), float(u(0.0, 10.0))
    night, glare, blur, motion, motion_deg = False, 0.0, float(u(0.0, 0.6)), 0.0, 0.0
    dirt: Dirt | None = None
    dirt_amount = 0.0
    frame_text: str | None = None
    others = int(rng.integers(0, 2))
    exposure, noise, quality = float(u(0.9, 1.1)), float(u(1.0, 4.0)), int(rng.integers(75, 95))
    if name == "night":
        night, glare, exposure = True, float(u(0.0, 60.0)), float(u(0.9, 1.2))
        noise = float(u(3.0, 8.0))
    elif name == "glare":
        glare = float(u(120.0, 230.0))
    elif name == "tilt":
        roll, yaw, pitch = float(u(-25.0, 25.0)), float(u(-25.0, 25.0)), float(u(5.0, 25.0))
    elif name == "blur":
        blur = float(u(0.5, 1.5))
        motion, motion_deg = float(u(4.0, 14.0)), float(u(0.0, 180.0))
    elif name == "lowres":
        width = float(u(80.0, 200.0))
        blur, quality = float(u(0.3, 0.9)), int(rng.integers(50, 85))
    elif name == "dirt":
        dirt = "mud" if rng.random() < 0.6 else "snow"
        dirt_amount = float(u(0.05, 0.2))
    elif name == "frame":
        frame_text = _DEALERS[int(rng.integers(0, len(_DEALERS)))]
    elif name == "multi":
        others = int(rng.integers(1, 4))
        width = float(u(120.0, 240.0))
    return Condition(
        name=name,
        plate_width_px=width,
        roll_deg=roll,
        yaw_deg=yaw,
        pitch_deg=pitch,
        night=night,
        glare=glare,
        blur_sigma=blur,
        motion_px=motion,
        motion_deg=motion_deg,
        dirt=dirt,
        dirt_amount=dirt_amount,
        frame_text=frame_text,
        other_cars=others,
        exposure=exposure,
        noise_sigma=noise,
        jpeg_quality=quality,
    )

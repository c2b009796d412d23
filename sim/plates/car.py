"""A car seen from the front, drawn in the plane of its plate and projected into the frame.

Everything on the car's face is given in millimetres around the plate's centre; a ``View`` (camera
distance, yaw, pitch, roll, scale and position) projects those points into the frame with a real
pinhole camera, so the plate's perspective and the car's agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

Color = tuple[int, int, int]
_DISTANCE_MM = 3500.0  # camera to plate: a gate camera a few metres before the barrier


@dataclass(frozen=True)
class View:
    """How the plate's plane is seen: ``scale`` frame pixels per millimetre at the plate's centre."""

    scale: float
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    center: tuple[float, float]

    def project(self, points_mm: np.ndarray) -> np.ndarray:
        """Frame coordinates (N×2 float) of points (N×2, millimetres, y down) on the plate's plane."""
        yaw, pitch, roll = (math.radians(a) for a in (self.yaw_deg, self.pitch_deg, self.roll_deg))
        cy, sy, cp, sp = math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch)
        x, y = points_mm[:, 0], points_mm[:, 1]
        # turn the plane about its vertical axis (yaw), then tip it about the horizontal one (pitch)
        x1, z1 = x * cy, -x * sy
        y2, z2 = y * cp - z1 * sp, y * sp + z1 * cp
        depth = _DISTANCE_MM + z2
        f = self.scale * _DISTANCE_MM
        u, v = f * x1 / depth, f * y2 / depth
        cr, sr = math.cos(roll), math.sin(roll)
        out = np.empty((len(points_mm), 2), dtype=np.float64)
        out[:, 0] = u * cr - v * sr + self.center[0]
        out[:, 1] = u * sr + v * cr + self.center[1]
        return out

    def moved(self, dx: float, dy: float) -> View:
        return View(self.scale, self.yaw_deg, self.pitch_deg, self.roll_deg, (self.center[0] + dx, self.center[1] + dy))


@dataclass(frozen=True)
class CarStyle:
    """A car's colours and proportions."""

    body: Color
    trim: Color  # grille and lower intake
    glass: Color
    lamp: Color
    width_mm: float
    plate_height_mm: float  # the plate's centre above the ground
    grille_bars: int


_BODY_COLOURS: tuple[Color, ...] = (
    (235, 235, 232),
    (200, 200, 198),
    (150, 150, 150),
    (35, 35, 38),
    (40, 40, 170),
    (120, 60, 20),
    (40, 70, 40),
    (150, 180, 200),
    (90, 90, 95),
    (20, 20, 110),
)


def sample_style(rng: np.random.Generator) -> CarStyle:
    body = _BODY_COLOURS[int(rng.integers(0, len(_BODY_COLOURS)))]
    jitter = rng.integers(-12, 13, size=3)
    body = (
        int(np.clip(body[0] + jitter[0], 0, 255)),
        int(np.clip(body[1] + jitter[1], 0, 255)),
        int(np.clip(body[2] + jitter[2], 0, 255)),
    )
    trim_grey = int(rng.integers(20, 70))
    glass = (int(rng.integers(50, 90)), int(rng.integers(45, 80)), int(rng.integers(35, 60)))
    lamp_grey = int(rng.integers(170, 235))
    return CarStyle(
        body=body,
        trim=(trim_grey, trim_grey, trim_grey),
        glass=glass,
        lamp=(lamp_grey, lamp_grey, min(255, lamp_grey + 10)),
        width_mm=float(rng.uniform(1650.0, 1950.0)),
        plate_height_mm=float(rng.uniform(380.0, 560.0)),
        grille_bars=int(rng.integers(0, 4)),
    )


def _poly(frame: np.ndarray, view: View, points: list[tuple[float, float]] | np.ndarray, color: Color) -> None:
    projected = view.project(np.asarray(points, dtype=np.float64))
    cv2.fillPoly(frame, [np.round(projected * 16).astype(np.int32)], color, cv2.LINE_AA, shift=4)


def _rect(frame: np.ndarray, view: View, x0: float, y0: float, x1: float, y1: float, color: Color) -> None:
    _poly(frame, view, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)], color)


_CIRCLE = np.asarray(cv2.ellipse2Poly((0, 0), (1000, 1000), 0, 0, 360, 20), dtype=np.float64) / 1000.0


def _ellipse(frame: np.ndarray, view: View, cx: float, cy: float, ax: float, ay: float, color: Color) -> None:
    _poly(frame, view, _CIRCLE * (ax, ay) + (cx, cy), color)


def _shade(color: Color, factor: float) -> Color:
    return (min(255, int(color[0] * factor)), min(255, int(color[1] * factor)), min(255, int(color[2] * factor)))


def outline_mm(style: CarStyle) -> np.ndarray:
    """The corners of the car's silhouette around the plate, millimetres."""
    half, ground = style.width_mm / 2, style.plate_height_mm
    return np.array(
        [
            (-half - 100, ground - 1500),
            (half + 100, ground - 1500),
            (half + 150, ground + 80),
            (-half - 150, ground + 80),
        ],
        dtype=np.float64,
    )


def draw_car(
    frame: np.ndarray, view: View, style: CarStyle, plate_mm: tuple[float, float]
) -> list[tuple[float, float]]:
    """Draw the car in place; returns where its headlights are (frame pixels), for glare."""
    half, ground = style.width_mm / 2, style.plate_height_mm
    pw, ph = plate_mm
    body, dark = style.body, _shade(style.body, 0.75)
    _ellipse(frame, view, 0, ground, half + 250, 70, (22, 24, 26))  # the shadow on the road
    for side in (-1, 1):  # tyres
        _rect(frame, view, side * (half - 330), ground - 260, side * (half - 60), ground, (18, 18, 20))
    _poly(
        frame,
        view,
        [
            (-half * 0.8, ground - 1520),
            (half * 0.8, ground - 1520),
            (half * 0.86, ground - 1420),
            (-half * 0.86, ground - 1420),
        ],
        dark,
    )  # roof
    _poly(
        frame,
        view,
        [
            (-half * 0.86, ground - 1420),
            (half * 0.86, ground - 1420),
            (half * 0.97, ground - 930),
            (-half * 0.97, ground - 930),
        ],
        style.glass,
    )  # windscreen
    _poly(
        frame,
        view,
        [
            (-half * 0.3, ground - 1400),
            (-half * 0.1, ground - 1400),
            (-half * 0.55, ground - 950),
            (-half * 0.75, ground - 950),
        ],
        _shade(style.glass, 1.5),
    )  # a reflection on the glass
    for side in (-1, 1):  # mirrors
        _rect(frame, view, side * (half * 0.95), ground - 1000, side * (half + 110), ground - 900, body)
    _poly(
        frame,
        view,
        [
            (-half * 0.97, ground - 930),
            (half * 0.97, ground - 930),
            (half, ground - 780),
            (half, ground - 200),
            (half - 120, ground - 80),
            (-half + 120, ground - 80),
            (-half, ground - 200),
            (-half, ground - 780),
        ],
        body,
    )  # bonnet edge, front face and bumper
    cv2.polylines(
        frame,
        [np.round(view.project(np.array([(-half, ground - 780), (half, ground - 780)]))).astype(np.int32)],
        False,
        dark,
        2,
        cv2.LINE_AA,
    )
    for side in (-1, 1):  # headlights
        x_in, x_out = side * (half * 0.58), side * (half * 0.95)
        _poly(
            frame,
            view,
            [(x_in, ground - 740), (x_out, ground - 760), (x_out, ground - 600), (x_in, ground - 640)],
            style.lamp,
        )
        _ellipse(frame, view, side * half * 0.8, ground - 680, 70, 50, _shade(style.lamp, 1.15))
    # grille between the lights, with a few chrome bars
    _rect(frame, view, -half * 0.5, ground - 740, half * 0.5, ground - 560, style.trim)
    for i in range(style.grille_bars):
        y = ground - 720 + i * 50
        _rect(frame, view, -half * 0.48, y, half * 0.48, y + 10, (170, 172, 175))
    # lower intake below the plate, fog lamps at its ends
    _rect(frame, view, -half * 0.55, ph / 2 + 60, half * 0.55, ground - 130, style.trim)
    for side in (-1, 1):
        _ellipse(frame, view, side * half * 0.75, ground - 200, 55, 40, _shade(style.lamp, 0.8))
    # the recess the plate is screwed into
    _rect(frame, view, -pw / 2 - 25, -ph / 2 - 25, pw / 2 + 25, ph / 2 + 25, _shade(body, 0.6))
    lights = view.project(np.array([(-half * 0.8, ground - 680), (half * 0.8, ground - 680)], dtype=np.float64))
    return [(float(x), float(y)) for x, y in lights]

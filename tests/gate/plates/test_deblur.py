"""Motion blur found in a frame's cepstrum and undone (``gate.plates.deblur``), on rendered rolling cars."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gate.plates.deblur import MotionBlur, deblur, line_kernel, motion_blur
from gate.plates.localise import to_gray
from sim.plates import render_car_frame
from sim.plates.conditions import sample_condition
from sim.plates.scene import PlateTruth


def _angle_apart(a: float, b: float) -> float:
    """Degrees between two undirected angles (a blur at 10° is the one at 190°)."""
    return abs((a - b + 90.0) % 180.0 - 90.0)


def _rolling_and_standing(seed: int, text: str, fmt: str) -> tuple[np.ndarray, np.ndarray, PlateTruth]:
    """The same rendered car seen rolling (motion blur) and standing (none): the condition is drawn first, as
    ``render_car_frame`` draws it, so the rest of the scene is the same."""
    rng = np.random.default_rng(seed)
    condition = sample_condition(rng, "blur")
    rolling, truth = render_car_frame(text, rng, "KZ", fmt, condition)
    rng = np.random.default_rng(seed)
    sample_condition(rng, "blur")
    standing, _ = render_car_frame(text, rng, "KZ", fmt, replace(condition, motion_px=0.0))
    return to_gray(rolling), to_gray(standing), truth


@pytest.mark.parametrize(
    ("seed", "text", "fmt"), [(10, "186HXU01", "kz_2012"), (12, "186HXU01", "kz_2012"), (2, "261TG15", "kz_org")]
)
def test_the_blur_of_a_rolling_car_is_found_at_its_plate_and_undone(seed: int, text: str, fmt: str) -> None:
    rolling, standing, truth = _rolling_and_standing(seed, text, fmt)
    blur = motion_blur(rolling, *np.array(truth.quad).mean(axis=0))
    assert abs(blur.length - truth.condition.motion_px) <= 2.5
    assert _angle_apart(blur.angle_deg, truth.condition.motion_deg) <= 12.0

    x, y, w, h = truth.bbox

    def off(image: np.ndarray) -> float:  # how far the plate is from the standing car's
        return float(np.abs(image[y : y + h, x : x + w].astype(np.float32) - standing[y : y + h, x : x + w]).mean())

    across = MotionBlur(blur.length, (blur.angle_deg + 90.0) % 180.0, blur.dip)
    assert off(deblur(rolling, blur)) < 0.8 * off(rolling)
    assert off(deblur(rolling, blur)) < off(deblur(rolling, across))  # undoing the wrong blur does not


def test_a_line_kernel_spreads_a_point_along_its_angle() -> None:
    flat = line_kernel(9.0, 0.0)
    assert flat.shape == (9, 9) and flat.sum() == pytest.approx(1.0)
    assert np.count_nonzero(flat[4]) == 9 and np.count_nonzero(flat) == 9  # one row: horizontal
    upright = line_kernel(9.0, 90.0)
    assert np.count_nonzero(upright[:, 4]) == 9 and np.count_nonzero(upright) == 9
    assert line_kernel(4.0, 30.0).shape == (5, 5)  # odd, so the kernel has a centre

"""The localiser on rendered frames: the plate is found, its quad overlaps the truth, crops are upright."""

from __future__ import annotations

import zlib
from dataclasses import replace

import cv2
import numpy as np
import pytest

from gate.plates import find_plates, quad_iou, rectify
from gate.plates.localise import CROP_HEIGHT, char_crop, clean_crop, equalise, row_crop
from sim.plates import render_car_frame
from sim.plates.conditions import sample_condition
from sim.plates.scene import PlateTruth

CASES = [
    ("123ABC02", "kz_2012", "day"),
    ("456DEF17", "kz_2012", "night"),
    ("789GHK05", "kz_2012", "tilt"),
    ("321LM01", "kz_org", "day"),
    ("555XYZ11", "kz_2012", "frame"),
]


@pytest.mark.parametrize(("text", "fmt", "condition"), CASES)
def test_plate_found_with_its_quad(text: str, fmt: str, condition: str) -> None:
    # a fixed seed (Python's hash() of a string changes from run to run); tilt and frame find ~90 %
    rng = np.random.default_rng(zlib.crc32(f"{text} {condition}".encode()))
    found = 0
    for _ in range(10):
        frame, truth = render_car_frame(text, rng, "KZ", fmt, condition)
        candidates = find_plates(frame, 3)
        truth_quad = np.array(truth.quad, dtype=np.float32)
        found += any(quad_iou(c.quad, truth_quad) > 0.4 for c in candidates)
    assert found >= 8, f"plate {text} ({condition}) found in {found} of 10 frames"


def _found(frame: np.ndarray, truth: PlateTruth) -> bool:
    """Whether one of the three candidates read covers the rendered car's plate."""
    truth_quad = np.array(truth.quad, dtype=np.float32)
    return any(quad_iou(c.quad, truth_quad) > 0.4 for c in find_plates(frame, 3))


@pytest.mark.parametrize("roll", [-24.0, -18.0, 18.0, 24.0])
def test_a_plate_turned_in_the_frame_is_found(roll: float) -> None:
    """A sloping road or a camera mounted askew turns the plate up to 25°: its blob's fill is measured in its
    own turned box, not the frame-aligned one it fills barely a third of."""
    condition = replace(sample_condition(np.random.default_rng(5), "day"), roll_deg=roll, yaw_deg=0.0)
    found = 0
    for seed in range(5):
        found += _found(*render_car_frame("899ERM07", np.random.default_rng(seed), "KZ", "kz_2012", condition))
    assert found >= 4, f"a plate turned {roll}° found in {found} of 5 frames"


@pytest.mark.parametrize(("roll", "yaw"), [(25.0, 25.0), (-25.0, -25.0), (22.0, 20.0)])
def test_a_row_is_found_along_a_plate_at_the_whole_tilt(roll: float, yaw: float) -> None:
    """Turned, yawed and looked down on at once (each up to 25°), a plate's rows slope by up to 36° in the
    frame: the row is found along them, not squared to the frame (its crop would cut the characters)."""
    condition = replace(sample_condition(np.random.default_rng(5), "tilt"), roll_deg=roll, yaw_deg=yaw, pitch_deg=25.0)
    for seed in range(3):
        frame, truth = render_car_frame("899ERM07", np.random.default_rng(seed), "KZ", "kz_2012", condition)
        outline = np.array(truth.quad, dtype=np.float32)
        rows = [c.rows[0] for c in find_plates(frame, 3) if quad_iou(c.quad, outline) > 0.3 and not c.blob]
        assert rows, f"seed {seed}: the plate's row is not found"
        slope = [abs(_angle(row) - _angle(outline)) for row in rows]
        assert min(slope) < 3.0, f"seed {seed}: the plate slopes {_angle(outline):.0f}°, its rows {slope}"


def _angle(quad: np.ndarray) -> float:
    """The slope of a quad's top edge in degrees."""
    dx, dy = quad[1] - quad[0]
    return float(np.degrees(np.arctan2(dy, dx)))


@pytest.mark.parametrize("seed", [64, 66])
def test_a_dealers_frame_text_is_not_taken_for_the_plate(seed: int) -> None:
    """The frame's small, evenly spaced print ("JAC KOSTANAY") scores as a neater row than the plate's own
    characters beside their region box: the plate's characters are the biggest text on it, and win."""
    assert _found(*render_car_frame("492KUC17", np.random.default_rng(seed), "KZ", "kz_2012", "frame"))


@pytest.mark.parametrize(
    ("seed", "text", "country", "fmt", "condition"),
    [
        (12, "430RT19", "KZ", "kz_org", "blur"),
        (7, "T349CX13", "RU", "ru", "glare"),
        (46, "330IDT06", "KZ", "kz_2012", "dirt"),
    ],
)
def test_a_plate_found_only_as_a_blob_comes_before_squarer_blobs(
    seed: int, text: str, country: str, fmt: str, condition: str
) -> None:
    """Blur, glare or mud leave no character to pick out: of the blobs (lamps, badges, windows, the plate)
    the one shaped like a one-row plate is among the few read."""
    assert _found(*render_car_frame(text, np.random.default_rng(seed), country, fmt, condition))


def test_a_plate_washed_out_by_headlights_is_found_once_the_frame_is_equalised() -> None:
    """Glare leaves grey characters on a white plate beside lamps far brighter: nothing is found on the plate
    in the frame itself, the plate first in the frame equalised."""
    frame, truth = render_car_frame("629PII20", np.random.default_rng(32), "KZ", "kz_2012", "glare")
    truth_quad = np.array(truth.quad, dtype=np.float32)
    assert all(quad_iou(c.quad, truth_quad) == 0.0 for c in find_plates(frame, 5))
    equalised = equalise(frame)
    assert equalised.shape == frame.shape[:2]
    assert quad_iou(find_plates(equalised, 5)[0].quad, truth_quad) > 0.4


def test_empty_frame_has_no_plate() -> None:
    assert find_plates(np.full((720, 1280, 3), 128, dtype=np.uint8)) == []


def test_rectify_gives_an_upright_crop_of_ocr_height() -> None:
    frame, truth = render_car_frame("123ABC02", np.random.default_rng(3), "KZ", "kz_2012", "day")
    crop = rectify(frame, np.array(truth.quad, dtype=np.float32))
    assert crop.ndim == 2 and crop.shape[0] == CROP_HEIGHT
    assert 3.0 < crop.shape[1] / crop.shape[0] < 6.5  # a one-row plate's aspect


def test_clean_crop_paints_out_full_height_lines_only() -> None:
    crop = np.full((64, 200), 230, dtype=np.uint8)
    crop[:, 150:153] = 20  # the region divider: dark from top to bottom
    crop[10:54, 40:48] = 20  # a character's stroke: dark over the character's height only
    cleaned = clean_crop(crop)
    assert cleaned[:, 150:153].min() > 200
    assert cleaned[10:54, 40:48].max() < 50


def _russian_like_plate(shear: float) -> tuple[np.ndarray, np.ndarray]:
    """A white plate with a main row, a divider and a raised region code beyond it, optionally slanted (a
    car seen at an angle); and the quad of the main row only, as the localiser's row would give it."""
    plate: np.ndarray = np.full((200, 900), 235, dtype=np.uint8)
    cv2.putText(plate, "P714PB", (40, 140), cv2.FONT_HERSHEY_DUPLEX, 3.0, 20, 7)
    cv2.line(plate, (560, 20), (560, 185), 20, 5)  # the divider, taller than any character
    cv2.putText(plate, "41", (600, 115), cv2.FONT_HERSHEY_DUPLEX, 2.4, 20, 6)
    if shear:
        matrix = np.array([[1.0, shear, -shear * 100], [0.0, 1.0, 0.0]], dtype=np.float32)
        plate = cv2.warpAffine(plate, matrix, (900, 200), borderValue=235)
    row = np.array([[30, 50], [510, 50], [510, 160], [30, 160]], dtype=np.float32)  # main row, 1.3 char heights
    return cv2.cvtColor(plate, cv2.COLOR_GRAY2BGR), row


@pytest.mark.parametrize("shear", [0.0, 0.25])
def test_char_crop_reaches_the_region_code_and_paints_the_divider_out(shear: float) -> None:
    frame, row = _russian_like_plate(shear)
    crop = char_crop(frame, row)
    ink = crop < 128
    columns = ink.any(axis=0)
    runs = np.flatnonzero(np.diff(columns.astype(np.int8)) == 1)
    # the main row's characters and the region code beyond the divider are all in the crop
    assert len(runs) >= 7, f"{len(runs)} ink runs: the region code was cut off"
    # no column of the crop is dark over more than a character's height: the divider is gone
    assert ink.sum(axis=0).max() < 0.75 * crop.shape[0]


@pytest.mark.parametrize(("text", "fmt"), [("123ABC02", "kz_2012"), ("726WM03", "kz_org"), ("F337CEI", "kz_1993")])
def test_two_row_plates_are_found_with_both_rows(text: str, fmt: str) -> None:
    """An organisation's two-row plate has two letters beside its region code on the bottom row ("WM|03"):
    the pair is still the plate's second row, top row first."""
    rng = np.random.default_rng(zlib.crc32(text.encode()))
    both = 0
    for _ in range(5):
        frame, truth = render_car_frame(text, rng, "KZ", fmt, "day", rows=2)
        truth_quad = np.array(truth.quad, dtype=np.float32)
        plate = [c for c in find_plates(frame, 3) if quad_iou(c.quad, truth_quad) > 0.4]
        if plate and plate[0].two_row:
            top, bottom = plate[0].rows
            both += float(top[:, 1].mean()) < float(bottom[:, 1].mean())
    assert both >= 4, f"{text}: both rows found in {both} of 5 day frames"


def test_row_crop_keeps_the_whole_row_upright() -> None:
    """The plate-trained recogniser reads the whole row: the region code and the divider stay, and the
    slant is undone."""
    frame, row = _russian_like_plate(0.25)
    crop = row_crop(frame, row)
    ink = crop < 128
    runs = np.flatnonzero(np.diff(ink.any(axis=0).astype(np.int8)) == 1)
    assert len(runs) >= 7, f"{len(runs)} ink runs: the region code is missing"
    # the divider is kept, and upright: one column dark over most of the crop's height
    assert ink.sum(axis=0).max() >= 0.75 * crop.shape[0]

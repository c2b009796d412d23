"""PP-OCRv4's detector and recogniser in the reader, on real photos of lpr-dev's tuning half (never its
measured half: see ``bench.lpr.half``) and on rendered frames; the real models, no fakes."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.lpr import fit_frame, half
from gate.plates import PlateOcr, PlateReader, PlateSettings, find_plates, quad_iou
from gate.plates.group import plate_lines
from gate.plates.ppocr import TextDetector, order_quad
from sim.plates import render_car_frame

pytestmark = pytest.mark.slow

LPR_DEV = Path(os.environ.get("QAQPA_LPR_DEV", Path(__file__).parents[4] / "shared" / "data" / "lpr-dev"))
needs_lpr_dev = pytest.mark.skipif(not LPR_DEV.is_dir(), reason=f"lpr-dev photos not at {LPR_DEV} ($QAQPA_LPR_DEV)")


def _photo(name: str) -> tuple[np.ndarray, str, np.ndarray]:
    """A tuning-half photo as a 1280×720 frame (as ``bench lpr`` reads it), its plate, and the plate's box."""
    assert half(name) == "tune", "tests use the tuning half only"
    _, x, y, w, h, plate = (LPR_DEV / name).with_suffix(".txt").read_text().strip().split("\t")
    image = cv2.imread(str(LPR_DEV / name))
    assert image is not None, f"cannot read {name}"
    scale = min(1280 / image.shape[1], 720 / image.shape[0])
    x0, y0, x1, y1 = (float(v) * scale for v in (x, y, int(x) + int(w), int(y) + int(h)))
    box = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)
    return fit_frame(image), plate, box


def _generic(ocr: PlateOcr) -> PlateReader:
    return PlateReader(PlateSettings(countries=(), generic=True, trigger="always"), lambda _r: None, ocr=ocr)


@needs_lpr_dev
def test_a_real_photo_is_read_end_to_end(ocr: PlateOcr) -> None:
    """A Californian plate the plate-trained recogniser cannot read: PP-OCRv4 reads it, surely."""
    frame, plate, box = _photo("wts-lg-000120.jpg")
    reader = _generic(ocr)
    match, confidence, quad = reader.read_frame(frame)[0]
    assert (match.text, confidence >= reader.settings.min_confidence) == (plate, True)
    assert quad_iou(quad, box) > 0.4


@needs_lpr_dev
def test_a_plate_the_localiser_misses_is_found_by_the_detector(ocr: PlateOcr) -> None:
    frame, plate, box = _photo("7fbfbe28-aecb-45be-bd05-7cf26acb3c5c.jpg")
    assert all(quad_iou(c.quad, box) < 0.1 for c in find_plates(frame, 5)), "the localiser finds it: not this case"
    reader = _generic(ocr)
    match, confidence, quad = reader.read_frame(frame)[0]
    assert reader.frames_detected == 1
    assert (match.text, confidence >= reader.settings.min_confidence) == (plate, True)
    assert quad_iou(quad, box) > 0.4


@needs_lpr_dev
@pytest.mark.parametrize("name", ["wts-lg-000120.jpg", "7fbfbe28-aecb-45be-bd05-7cf26acb3c5c.jpg", "us10.jpg"])
def test_a_plate_of_another_grammar_is_never_accepted(ocr: PlateOcr, name: str) -> None:
    """American plates read surely in generic mode: a Kazakh gate accepts none of them as anything."""
    frame, _, _ = _photo(name)
    reader = PlateReader(PlateSettings(countries=("KZ",), trigger="always"), lambda _r: None, ocr=ocr)
    assert all(confidence < reader.settings.min_confidence for _, confidence, _ in reader.read_frame(frame))


def test_a_russian_plate_no_kazakh_format_fits_is_not_read_as_one_by_any_stage(ocr: PlateOcr) -> None:
    frame, _ = render_car_frame("Y123BC77", np.random.default_rng(5), "RU", "ru", "day")
    reader = PlateReader(PlateSettings(countries=("KZ",), trigger="always"), lambda _r: None, ocr=ocr)
    assert all(confidence < reader.settings.min_confidence for _, confidence, _ in reader.read_frame(frame))
    assert reader.frames_detected == 1, "every stage looked"


def test_the_detector_finds_a_rendered_plate_on_its_own(ocr: PlateOcr) -> None:
    frame, truth = render_car_frame("777ABE01", np.random.default_rng(3), "KZ", "kz_2012", "day")
    outline = np.array(truth.quad, dtype=np.float32)
    boxes = ocr.detector.detect(frame, 960)
    lines = plate_lines(boxes)
    assert any(quad_iou(line.quad, outline) > 0.3 for line in lines)


def test_a_kazakh_plates_region_box_and_two_rows_are_grouped() -> None:
    def box(x: float, y: float, w: float, h: float) -> np.ndarray:
        return order_quad(np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float32))

    number, region = box(100, 100, 120, 30), box(232, 101, 40, 29)  # "777 ABE" | "01"
    top, bottom = box(400, 100, 60, 20), box(395, 124, 70, 22)  # a two-row plate
    lines = plate_lines([(number, 0.9), (region, 0.9), (top, 0.8), (bottom, 0.8)])
    joined = [
        line for line in lines if not line.two_row and line.quad[:, 0].min() <= 101 and line.quad[:, 0].max() >= 271
    ]
    assert joined, "the number and its region box are read as one line"
    assert any(line.two_row and line.rows == (top, bottom) for line in lines)


def test_a_detector_on_a_blank_frame_finds_nothing() -> None:
    detector = TextDetector()
    assert detector.detect(np.full((720, 1280, 3), 128, dtype=np.uint8), 640) == []

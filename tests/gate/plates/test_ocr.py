"""OCR and the whole reading path with the real EasyOCR model (no fake): crops, frames, the lane thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from gate.plates import PlateError, PlateOcr, PlateReader, PlateResult, PlateSettings, find_plates, rectify
from gate.plates.localise import clean_crop
from protocol.plates import match_plate
from sim.plates import render_car_frame
from tests.gate.plates.conftest import needs_easyocr

pytestmark = [pytest.mark.slow, needs_easyocr]


def _row_crop(text: str, seed: int) -> np.ndarray:
    frame, _ = render_car_frame(text, np.random.default_rng(seed), "KZ", "kz_2012", "day")
    candidates = find_plates(frame, 1)
    assert candidates, f"no plate found for {text}"
    return clean_crop(rectify(frame, candidates[0].rows[0]))


def test_ocr_batch_answers_each_crop_in_order(ocr: PlateOcr) -> None:
    crops = [_row_crop("123ABC02", 7), _row_crop("907XKE15", 8)]
    batch = ocr.read(crops)
    alone = [ocr.read([crop])[0] for crop in crops]
    assert [text for text, _ in batch] == [text for text, _ in alone]
    assert all(0.0 <= conf <= 1.0 for _, conf in batch)
    matches = [match_plate(text, ("KZ",)) for text, _ in batch]
    assert any(m is not None and m.text in ("123ABC02", "907XKE15") for m in matches)


def test_ocr_refuses_what_is_not_a_gray_crop(ocr: PlateOcr) -> None:
    with pytest.raises(PlateError):
        ocr.read([np.zeros((64, 200, 3), dtype=np.uint8)])
    assert ocr.read([]) == []


def test_read_frame_end_to_end_on_rendered_day_frames(ocr: PlateOcr) -> None:
    reader = PlateReader(PlateSettings(countries=("KZ",), trigger="always"), lambda _r: None, ocr=ocr)
    rng = np.random.default_rng(2024)
    texts = ["123ABC02", "507KTE14", "318NOP09", "640HXT01", "222BBB20", "781MZA06"]
    exact = 0
    for text in texts:
        frame, truth = render_car_frame(text, rng, "KZ", "kz_2012", "day")
        reads = reader.read_frame(frame)
        if reads and reads[0][0].text == truth.text:
            exact += 1
            assert reads[0][2].shape == (4, 2)
    assert exact >= 4, f"{exact} of {len(texts)} day frames read exactly"


def test_lane_thread_votes_and_reports_the_plate(ocr: PlateOcr) -> None:
    results: list[PlateResult] = []
    done = threading.Event()

    def on_result(result: PlateResult) -> None:
        results.append(result)
        done.set()

    frame, _ = render_car_frame("123ABC02", np.random.default_rng(7), "KZ", "kz_2012", "day")
    settings = PlateSettings(countries=("KZ",), trigger="always", votes_needed=2, no_read_after_s=60.0)
    reader = PlateReader(settings, on_result, ocr=ocr)
    reader.start()
    try:
        for _ in range(200):  # the camera keeps offering frames until the lane has decided
            reader.offer(frame)
            if done.wait(0.1):
                break
    finally:
        reader.stop()
    assert results, "the lane reported nothing"
    assert results[0].plate == "123ABC02" and results[0].votes >= 2 and results[0].crop is not None

"""The plate recogniser's training path: labelled crops cut as the gate cuts them, a short real training run,
and its ONNX file read by ONNX Runtime as the gate reads the shipped one."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from gate.plates.decode import ALPHABET
from gate.plates.localise import equalise, find_plates, quad_iou
from gate.plates.ocr import fit_height
from gate.plates.reader import line_crop
from protocol.plates import match_two_rows
from sim.plates import FORMATS, render_car_frame, text_zones
from sim.plates.crops import HEIGHT, MAX_WIDTH, labelled_crop, labelled_crops, to_input, write_crops

pytestmark = pytest.mark.slow


def test_two_row_crops_are_labelled_as_they_stand_top_row_first() -> None:
    """The crop puts a two-row plate's top row left of its bottom row; the label reads the same way, and the
    gate's reordering of the two rows (``match_two_rows``) gives the plate back."""
    frame, truth = render_car_frame("123ABC02", np.random.default_rng(3), "KZ", "kz_2012", "day", rows=2)
    labelled = labelled_crop(frame, truth)
    assert labelled is not None, "the localiser should find this clean two-row plate"
    crop, label = labelled
    assert crop.ndim == 2 and crop.shape[1] > 2 * crop.shape[0]
    top = text_zones(truth.text, FORMATS[truth.format], 2)[0][0]
    assert label.startswith(top)
    match = match_two_rows(label[: len(top)], label[len(top) :], ("KZ",))
    assert match is not None and match.text == truth.text


def test_one_row_crops_are_labelled_with_the_plate_and_misses_are_skipped() -> None:
    rng = np.random.default_rng(5)
    frame, truth = render_car_frame("507KTE14", rng, "KZ", "kz_2012", "day")
    labelled = labelled_crop(frame, truth)
    assert labelled is not None and labelled[1] == "507KTE14"
    assert labelled_crop(np.zeros_like(frame), truth) is None  # no plate found: nothing to learn from
    crops = list(labelled_crops(20, np.random.default_rng(6)))
    assert len(crops) >= 15 and all(set(label) <= set(ALPHABET) for _, label in crops)


def test_a_plate_found_only_once_the_frame_is_equalised_is_cut_from_the_equalised_frame() -> None:
    """Headlight glare hides this plate from the localiser until the frame is equalised; the reader then reads
    the equalised frame's crop, and so training learns from it."""
    frame, truth = render_car_frame("629PII20", np.random.default_rng(32), "KZ", "kz_2012", "glare")
    assert all(quad_iou(c.quad, np.array(truth.quad, dtype=np.float32)) == 0.0 for c in find_plates(frame, 3))
    labelled = labelled_crop(frame, truth)
    assert labelled is not None and labelled[1] == "629PII20"
    equalised = equalise(frame)
    assert labelled[0].tolist() == line_crop(equalised, find_plates(equalised, 3)[0], cut=False).tolist()


def test_training_cuts_up_to_a_characters_height_off_either_end() -> None:
    """How far a crop reaches past the plate's characters varies with what its row caught: training cuts a
    random part of up to a character's height off either end (or adds a little margin), so the model does
    not lean on it."""
    from sim.plates.train import CHAR_PX, augment

    frame, truth = render_car_frame("507KTE14", np.random.default_rng(5), "KZ", "kz_2012", "day")
    labelled = labelled_crop(frame, truth)
    assert labelled is not None
    image, width = to_input(labelled[0])
    widths = [augment(image, width, np.random.default_rng(seed))[1] for seed in range(300)]
    # stretched or squeezed by at most 15 % after the cut
    assert min(widths) >= 0.85 * (width - 2 * (CHAR_PX + 3)) and max(widths) <= 1.15 * (width + 6)
    assert min(widths) < 0.85 * (width - CHAR_PX) + 2, "never cut as much as a character's height at each end"


def test_stored_crops_are_the_recognisers_input(tmp_path: Path) -> None:
    kept = write_crops(tmp_path / "crops.npz", 12, seed=4)
    data = np.load(tmp_path / "crops.npz")
    assert data["images"].shape == (kept, HEIGHT, MAX_WIDTH) and data["images"].dtype == np.uint8
    for image, width in zip(data["images"], data["widths"], strict=True):
        assert HEIGHT // 2 <= width <= MAX_WIDTH
        assert (image[:, width:] == image[:, width - 1 : width]).all()  # padded with the last column
    crop = np.full((80, 300), 200, dtype=np.uint8)
    image, width = to_input(crop)
    assert width == fit_height(crop, HEIGHT).shape[1] == 120


needs_torch = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None, reason="training needs torch: '.[plate-models]' (make test installs it)"
)


@needs_torch
def test_a_short_training_run_exports_a_model_the_gate_can_run(tmp_path: Path) -> None:
    import onnxruntime as ort

    from sim.plates.train import main as train_main

    write_crops(tmp_path / "train.npz", 70, seed=6)
    write_crops(tmp_path / "val.npz", 10, seed=7)
    out = tmp_path / "model.onnx"
    train_main([str(tmp_path / "train.npz"), "--val", str(tmp_path / "val.npz"), "--out", str(out),
                "--epochs", "1", "--batch", "16", "--threads", "1"])  # fmt: skip
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    metadata = session.get_modelmeta().custom_metadata_map
    assert metadata["characters"] == ALPHABET and metadata["height"] == str(HEIGHT)
    assert json.loads(metadata["training"])["epochs"] == 1
    for width in (64, 200):  # any width: one column of logits per 4 px
        logits = session.run(None, {"image": np.zeros((1, 1, HEIGHT, width), dtype=np.float32)})[0]
        assert logits.shape == (1, width // 4, 1 + len(ALPHABET))


@needs_torch
def test_training_goes_on_from_an_exported_model(tmp_path: Path) -> None:
    import onnxruntime as ort
    import torch

    from gate.plates.ocr import PLATE_MODEL
    from sim.plates.train import load_onnx
    from sim.plates.train import main as train_main

    # the shipped model back in torch (batch norm folded, LSTM gates reordered) answers as ONNX Runtime does
    images = np.random.default_rng(0).uniform(-1.0, 1.0, (2, 1, HEIGHT, 160)).astype(np.float32)
    shipped = ort.InferenceSession(str(PLATE_MODEL), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        loaded = load_onnx(PLATE_MODEL).eval()(torch.from_numpy(images)).numpy()
    np.testing.assert_allclose(loaded, shipped.run(None, {"image": images})[0], atol=1e-4)

    write_crops(tmp_path / "train.npz", 40, seed=8)
    out = tmp_path / "model.onnx"
    train_main([str(tmp_path / "train.npz"), "--out", str(out), "--init", str(PLATE_MODEL), "--max-lr", "1e-4",
                "--epochs", "1", "--batch", "16", "--threads", "1"])  # fmt: skip
    training = json.loads(ort.InferenceSession(str(out)).get_modelmeta().custom_metadata_map["training"])
    shipped_training = json.loads(shipped.get_modelmeta().custom_metadata_map["training"])
    assert training["trained_on_from"] == shipped_training
    assert training["epochs"] == 1 and training["max_lr"] == 1e-4

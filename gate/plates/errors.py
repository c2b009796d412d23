"""The plate reader's exceptions.

    GateError (gate.errors)
    └── PlateError            root of everything gate.plates raises
        ├── PlateSettingsError  a [plates] setting that cannot be used; the message names it
        └── OcrUnavailable      a model cannot load: ONNX Runtime (``plates`` extra), its model file (PP-OCRv4's
                                come in the rapidocr-onnxruntime wheel), or EasyOCR's weights to export
                                (``plate-models`` extra)

Third-party errors (cv2, onnxruntime, easyocr, gpiozero) are converted at the boundary with ``raise … from err``.
"""

from __future__ import annotations

from gate.errors import GateError


class PlateError(GateError):
    """Root of every error raised by ``gate.plates``."""


class PlateSettingsError(PlateError):
    """A plate-reader setting is missing or out of range."""


class OcrUnavailable(PlateError):
    """The plate recogniser cannot be loaded (its model file, ONNX Runtime, or EasyOCR's weights to export)."""

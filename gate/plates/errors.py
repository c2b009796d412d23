"""The plate reader's exceptions.

    GateError (gate.errors)
    └── PlateError            root of everything gate.plates raises
        ├── PlateSettingsError  a [plates] setting that cannot be used; the message names it
        └── OcrUnavailable      EasyOCR or its offline weights are not installed (the ``plates`` extra)

Third-party errors (cv2, onnxruntime, easyocr, gpiozero) are converted at the boundary with ``raise … from err``.
"""

from __future__ import annotations

from gate.errors import GateError


class PlateError(GateError):
    """Root of every error raised by ``gate.plates``."""


class PlateSettingsError(PlateError):
    """A plate-reader setting is missing or out of range."""


class OcrUnavailable(PlateError):
    """EasyOCR or the offline English weights cannot be loaded."""

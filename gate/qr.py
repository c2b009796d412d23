"""QR decoding with zxing-cpp, tuned for the gate's frame → relay budget (1280×720 in a few ms)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import zxingcpp

from gate.errors import QrError

Frame = np.ndarray[Any, np.dtype[np.uint8]]
_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def as_frame(image: object) -> Frame | None:
    """An OpenCV result as a Frame (OpenCV's stubs type every image as any number array)."""
    if image is None:
        return None
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise QrError("a frame is a numpy uint8 array")
    return image


def to_gray(frame: Frame) -> Frame:
    """A grayscale view of a BGR or grayscale uint8 frame: zxing-cpp is ~3× faster on one channel."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        raise QrError("a frame is a numpy uint8 array")
    if frame.ndim == 2:
        return frame
    if frame.ndim == 3 and frame.shape[2] == 3:
        gray = as_frame(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
        assert gray is not None
        return gray
    if frame.ndim == 3 and frame.shape[2] == 1:
        return frame[:, :, 0]
    raise QrError(f"a frame is H×W grayscale or H×W×3 BGR, not shape {frame.shape}")


def decode_qr(frame: Frame, *, try_invert: bool = False, try_downscale: bool = True) -> list[str]:
    """The texts of the QR codes in a frame (BGR or grayscale uint8), empty when there is none.

    Rotation search is off (it matters for linear codes; QR finder patterns are found at any angle) and so
    is inverted search (permits are dark on light) — each would cost time on every frame. Downscaling stays
    on: a phone held close to the camera makes modules too large for the full-resolution detector.
    """
    gray = to_gray(frame)
    results = zxingcpp.read_barcodes(
        gray,
        formats=_QR,
        try_rotate=False,
        try_invert=try_invert,
        try_downscale=try_downscale,
        text_mode=zxingcpp.TextMode.Plain,
    )
    return [result.text for result in results if result.valid and result.text]

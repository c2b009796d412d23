"""QR decoding of a real QR drawn into a 1280×720 frame."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import qrcode

from gate.errors import QrError
from gate.qr import decode_qr
from protocol import SigningKey, encode_token
from tests.gate.world import make_permit


def qr_frame(text: str, box: int = 4, at: tuple[int, int] = (200, 500), bgr: bool = True) -> np.ndarray:
    """A 1280×720 grey scene with the QR of ``text`` pasted in, as a camera would see a phone screen."""
    image = np.array(qrcode.make(text, box_size=box, border=4).convert("L"), dtype=np.uint8)
    frame = np.full((720, 1280), 140, dtype=np.uint8)
    y, x = at
    frame[y : y + image.shape[0], x : x + image.shape[1]] = image
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if bgr else frame


def test_decodes_a_permit_token_from_bgr_and_gray_frames() -> None:
    text = encode_token(make_permit(), SigningKey.generate("k1"))
    assert decode_qr(qr_frame(text)) == [text]
    assert decode_qr(qr_frame(text, bgr=False)) == [text]


def test_large_modules_close_to_the_camera() -> None:
    text = encode_token(make_permit(), SigningKey.generate("k1"))
    assert decode_qr(qr_frame(text, box=10, at=(50, 300))) == [text]


def test_rotated_qr() -> None:
    text = encode_token(make_permit(), SigningKey.generate("k1"))
    frame = qr_frame(text, box=5, bgr=False)
    turn = cv2.getRotationMatrix2D((640, 360), 25, 1.0)
    rotated = cv2.warpAffine(frame, turn, (1280, 720), borderValue=140)
    assert decode_qr(np.asarray(rotated, dtype=np.uint8)) == [text]


def test_empty_frame_has_no_codes() -> None:
    assert decode_qr(np.full((720, 1280, 3), 90, dtype=np.uint8)) == []


def test_wrong_frames_are_refused() -> None:
    with pytest.raises(QrError):
        decode_qr(np.zeros((720, 1280), dtype=np.float32))
    with pytest.raises(QrError):
        decode_qr(np.zeros((720, 1280, 4), dtype=np.uint8))

from __future__ import annotations

import cv2
import numpy as np
import pytest
import zxingcpp

from protocol import Permit, SigningKey, encode_token
from sim.errors import RenderError
from sim.render import HEIGHT, WIDTH, Style, render_empty_frame, render_qr_frame, render_scene, sample_scene

KEY = SigningKey.generate(kid="render-test")


def token(seed: int) -> str:
    permit_id = np.random.default_rng(seed).integers(0, 256, 10, dtype=np.uint8).tobytes()
    permit = Permit(permit_id, "altyn-emel", 1_700_000_000, 1_800_000_000, (2, 1, 0), 1_700_000_000, None, 1)
    return encode_token(permit, KEY)


def decoded(frame: np.ndarray) -> list[str]:
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    return [barcode.text for barcode in zxingcpp.read_barcodes(gray)]


def test_frame_shape_and_type() -> None:
    frame = render_qr_frame(token(0), np.random.default_rng(0))
    assert frame.shape == (HEIGHT, WIDTH, 3) == (720, 1280, 3)
    assert frame.dtype == np.uint8
    assert frame.flags.c_contiguous


def test_same_generator_state_gives_the_same_frame() -> None:
    text = token(1)
    styles: tuple[Style, ...] = ("phone", "paper")
    for style in styles:
        a = render_qr_frame(text, np.random.default_rng(42), style=style)
        b = render_qr_frame(text, np.random.default_rng(42), style=style)
        c = render_qr_frame(text, np.random.default_rng(43), style=style)
        assert np.array_equal(a, b)
        assert not np.array_equal(a, c)
    assert np.array_equal(render_empty_frame(np.random.default_rng(7)), render_empty_frame(np.random.default_rng(7)))


def test_default_difficulty_decodes_at_least_99_percent() -> None:
    frames = 100
    hits = 0
    for seed in range(frames):
        text = token(seed)
        style: Style = "phone" if seed % 2 else "paper"
        if text in decoded(render_qr_frame(text, np.random.default_rng(1000 + seed), style=style)):
            hits += 1
    assert hits >= 99


def test_hard_difficulty_still_decodes_often() -> None:
    # hard frames may fail (a real camera gets another frame a moment later), but most must read
    text = token(3)
    hits = sum(text in decoded(render_qr_frame(text, np.random.default_rng(s), difficulty="hard")) for s in range(30))
    assert hits >= 15


def test_empty_frame_has_no_qr() -> None:
    for seed in range(10):
        frame = render_empty_frame(np.random.default_rng(seed))
        assert frame.shape == (HEIGHT, WIDTH, 3)
        assert decoded(frame) == []


def test_a_moved_scene_still_reads_and_differs() -> None:
    text = token(4)
    rng = np.random.default_rng(9)
    scene = sample_scene(rng, "phone", "default")
    first = render_scene(scene, text)
    later = render_scene(scene.moved(rng), text)
    assert not np.array_equal(first, later)
    assert text in decoded(first) and text in decoded(later)


def test_bad_arguments_are_refused() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(RenderError, match="difficulty"):
        render_qr_frame(token(0), rng, difficulty="impossible")
    with pytest.raises(RenderError, match="style"):
        render_qr_frame(token(0), rng, style="billboard")  # type: ignore[arg-type]
    with pytest.raises(RenderError, match="empty"):
        render_qr_frame("", rng)
    with pytest.raises(RenderError, match="QR"):
        render_qr_frame("X" * 5000, rng)

from __future__ import annotations

import numpy as np
import pytest

from gate.frames import QueueFrameSource
from gate.qr import decode_qr
from protocol import Permit, SigningKey, encode_token
from sim.camera import SimCamera
from sim.errors import RenderError

TOKEN = encode_token(
    Permit(b"0123456789", "altyn-emel", 1_700_000_000, 1_800_000_000, (1, 0, 0), 1_700_000_000),
    SigningKey.generate(kid="camera-test"),
)


def drain(source: QueueFrameSource) -> list[np.ndarray]:
    frames = []
    while (frame := source.read(0.0)) is not None:
        frames.append(frame)
    return frames


def test_a_presentation_reaches_the_gate_frame_source_and_decodes() -> None:
    source = QueueFrameSource(maxsize=64)
    camera = SimCamera(source, np.random.default_rng(3), fps=30.0, idle_fps=0.5).start()
    try:
        presentation = camera.present(TOKEN, style="phone", frames=4)
        assert presentation.done.wait(30.0)
    finally:
        camera.stop()
    frames = drain(source)
    decoded = [decode_qr(frame) for frame in frames]
    # four frames of the visitor (plus perhaps an idle one of the empty lane before them)
    assert sum(texts == [TOKEN] for texts in decoded) >= 3
    assert all(texts in ([], [TOKEN]) for texts in decoded)
    assert camera.presentations_done == 1
    assert camera.frames_pushed == len(frames)


def test_frames_of_one_presentation_move_a_little() -> None:
    source = QueueFrameSource(maxsize=64)
    camera = SimCamera(source, np.random.default_rng(4), fps=30.0, idle_fps=0.5).start()
    try:
        assert camera.present(TOKEN, style="paper", frames=3).done.wait(30.0)
    finally:
        camera.stop()
    frames = [f for f in drain(source) if decode_qr(f)]
    assert len(frames) >= 2
    assert not np.array_equal(frames[0], frames[1])


def test_bad_camera_settings_are_refused() -> None:
    source = QueueFrameSource()
    with pytest.raises(RenderError, match="fps"):
        SimCamera(source, np.random.default_rng(0), fps=0)
    with pytest.raises(RenderError, match="frames_per_presentation"):
        SimCamera(source, np.random.default_rng(0), frames_per_presentation=(5, 2))
    camera = SimCamera(source, np.random.default_rng(0))
    with pytest.raises(RenderError, match="at least one frame"):
        camera.present(TOKEN, frames=0)
    with pytest.raises(RenderError, match="empty"):
        camera.present("")
    assert camera.pending == 0

"""A simulated gate camera: renders visitors holding up their permit and pushes the frames to a gate.

The camera runs in its own thread like a real one. Between visitors it sends a few frames a second of
the empty lane; when a visitor presents a QR it sends a short burst at the camera's frame rate, the
carrier drifting a little from frame to frame. The gate's frame source for the simulator
(``gate.frames.QueueFrameSource``) is the usual sink; anything with ``push(frame)`` works.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from sim.errors import RenderError
from sim.render import Difficulty, Frame, Style, qr_modules, render_empty_frame, render_scene, sample_scene


class FrameSink(Protocol):
    def push(self, frame: Frame) -> None: ...


@dataclass
class Presentation:
    """One visitor holding a QR up to the camera; ``done`` is set after its last frame was pushed."""

    text: str
    style: Style
    frames: int
    done: threading.Event = field(default_factory=threading.Event)


class SimCamera:
    """Feeds rendered frames into ``sink``; ``present(text)`` queues a visitor."""

    def __init__(
        self,
        sink: FrameSink,
        rng: np.random.Generator,
        fps: float = 15.0,
        idle_fps: float = 2.0,
        frames_per_presentation: tuple[int, int] = (3, 6),
        difficulty: str | Difficulty = "default",
        name: str = "camera",
    ) -> None:
        if fps <= 0 or idle_fps <= 0:
            raise RenderError("fps and idle_fps must be positive")
        low, high = frames_per_presentation
        if not 1 <= low <= high:
            raise RenderError(f"frames_per_presentation must be 1 <= low <= high, not {frames_per_presentation}")
        self.sink = sink
        self.fps = fps
        self.idle_fps = idle_fps
        self.frames_per_presentation = frames_per_presentation
        self.difficulty = difficulty
        self.name = name
        self._rng = rng
        # idle frames depend on wall-clock timing; a generator of their own keeps presentations reproducible
        self._idle_rng = np.random.default_rng(int(rng.integers(0, 2**63)))
        self._queue: queue.Queue[Presentation | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.frames_pushed = 0
        self.presentations_done = 0

    def start(self) -> SimCamera:
        if self._thread is not None:
            raise RenderError(f"{self.name} is already running")
        self._thread = threading.Thread(target=self._run, name=f"simcamera-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the frame being rendered; presentations still queued are dropped (never ``done``)."""
        if self._thread is None:
            return
        self._stopping.set()
        self._queue.put(None)
        self._thread.join()
        self._thread = None

    def present(self, text: str, style: Style | None = None, frames: int | None = None) -> Presentation:
        """Queue a visitor presenting ``text``; the style is drawn at random when not given."""
        if frames is not None and frames < 1:
            raise RenderError("a presentation needs at least one frame")
        qr_modules(text)  # a text that cannot be a QR fails here, in the caller's thread
        if style is None:
            style = "phone" if self._rng.random() < 0.7 else "paper"
        if frames is None:
            low, high = self.frames_per_presentation
            frames = int(self._rng.integers(low, high + 1))
        presentation = Presentation(text, style, frames)
        self._queue.put(presentation)
        return presentation

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def _push(self, frame: Frame) -> None:
        self.sink.push(frame)
        self.frames_pushed += 1

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                item = self._queue.get(timeout=1.0 / self.idle_fps)
            except queue.Empty:
                self._push(render_empty_frame(self._idle_rng))
                continue
            if item is None:
                return
            self._show(item)

    def _show(self, presentation: Presentation) -> None:
        modules = qr_modules(presentation.text).shape[0]
        scene = sample_scene(self._rng, presentation.style, self.difficulty, qr_modules_count=modules)
        period = 1.0 / self.fps
        next_at = time.monotonic()
        for i in range(presentation.frames):
            if self._stopping.is_set():
                return
            if i:
                scene = scene.moved(self._rng)
            frame = render_scene(scene, presentation.text)
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._push(frame)
            next_at += period
        self.presentations_done += 1
        presentation.done.set()

"""Frame sources: where the gate's camera frames come from, behind one small interface.

``OpenCVSource`` (USB index or RTSP/HTTP URL), ``FolderSource`` (sorted images), ``VideoFileSource`` and
``QueueFrameSource`` (the simulator pushes rendered frames). The controller never asks which one it has.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Protocol

import cv2

from gate.config import CameraSettings
from gate.errors import FrameSourceError
from gate.qr import Frame, as_frame

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class FrameSource(Protocol):
    def read(self, timeout: float) -> Frame | None:
        """The next frame (BGR or grayscale uint8), or None when none came within ``timeout`` seconds."""
        ...

    def close(self) -> None: ...


class _Pacer:
    """Hands out frames no faster than ``fps``, as a camera would."""

    def __init__(self, fps: float) -> None:
        self.interval = 1.0 / fps
        self.next_at = 0.0

    def wait(self, timeout: float) -> bool:
        delay = self.next_at - time.monotonic()
        if delay > timeout:
            time.sleep(max(timeout, 0.0))
            return False
        if delay > 0:
            time.sleep(delay)
        self.next_at = max(self.next_at + self.interval, time.monotonic())
        return True


class OpenCVSource:
    """A camera through OpenCV ``VideoCapture``: ``"0"`` is USB camera 0, a URL is an RTSP/HTTP stream."""

    def __init__(self, uri: str | int) -> None:
        target: str | int = int(uri) if isinstance(uri, str) and uri.isdigit() else uri
        self._capture = cv2.VideoCapture(target)
        if not self._capture.isOpened():
            raise FrameSourceError(f"cannot open camera {uri!r}")
        # keep only the newest frame: a decision on a stale frame is a late barrier
        self._capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)

    def read(self, timeout: float) -> Frame | None:
        ok, frame = self._capture.read()
        return as_frame(frame) if ok else None

    def close(self) -> None:
        self._capture.release()


class FolderSource:
    """The images of a folder in name order, paced at ``fps``; starts over at the end when ``loop``."""

    def __init__(self, path: str | Path, fps: float = 15.0, loop: bool = False) -> None:
        folder = Path(path)
        if not folder.is_dir():
            raise FrameSourceError(f"{folder} is not a folder")
        self._files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._files:
            raise FrameSourceError(f"{folder} has no images")
        self._loop = loop
        self._index = 0
        self._pacer = _Pacer(fps)

    def read(self, timeout: float) -> Frame | None:
        if self._index >= len(self._files):
            if not self._loop:
                time.sleep(timeout)
                return None
            self._index = 0
        if not self._pacer.wait(timeout):
            return None
        path = self._files[self._index]
        self._index += 1
        frame = as_frame(cv2.imread(str(path), cv2.IMREAD_COLOR))
        if frame is None:
            raise FrameSourceError(f"cannot read image {path}")
        return frame

    def close(self) -> None:
        self._index = len(self._files)
        self._loop = False


class VideoFileSource:
    """A video file's frames, paced at ``fps``; starts over at the end when ``loop``."""

    def __init__(self, path: str | Path, fps: float = 15.0, loop: bool = False) -> None:
        self._path = Path(path)
        if not self._path.is_file():
            raise FrameSourceError(f"{self._path} is not a file")
        self._capture = cv2.VideoCapture(str(self._path))
        if not self._capture.isOpened():
            raise FrameSourceError(f"cannot open video {self._path}")
        self._loop = loop
        self._pacer = _Pacer(fps)

    def read(self, timeout: float) -> Frame | None:
        if not self._pacer.wait(timeout):
            return None
        ok, frame = self._capture.read()
        if not ok and self._loop:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._capture.read()
        return as_frame(frame) if ok else None

    def close(self) -> None:
        self._capture.release()


class QueueFrameSource:
    """Frames pushed by another thread (the simulator's camera). ``push`` drops the oldest when full."""

    def __init__(self, maxsize: int = 8) -> None:
        self._queue: queue.Queue[Frame] = queue.Queue(maxsize)
        self._closed = threading.Event()

    def push(self, frame: Frame) -> None:
        """Add a frame; a full queue drops its oldest frame, as a camera with a small buffer would."""
        while True:
            try:
                self._queue.put_nowait(frame)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    continue

    def read(self, timeout: float) -> Frame | None:
        if self._closed.is_set():
            return None
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def pending(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        self._closed.set()


def open_frame_source(camera: CameraSettings) -> FrameSource:
    """The frame source gate.toml's [camera] names."""
    if camera.source == "opencv":
        return OpenCVSource(camera.uri)
    if camera.source == "folder":
        return FolderSource(camera.uri, camera.fps, camera.loop)
    if camera.source == "video":
        return VideoFileSource(camera.uri, camera.fps, camera.loop)
    raise FrameSourceError(f"unknown camera source {camera.source!r}")

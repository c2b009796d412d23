"""A simulated EM4100 module with RDM6300 framing on a real pty.

Like the module, it sends a card's 14-byte frame every ~65 ms while the card is in the field and nothing
otherwise, and it can misbehave the way cheap modules and noisy lines do: stray bytes, a frame cut in half
(card pulled away mid-frame), a false all-zero frame. Methods block for as long as the action lasts on the
wire; a simulator that wants several readers at once drives each from its own thread.
"""

from __future__ import annotations

import os
import threading
from types import TracebackType

import numpy as np

from gate.readers.em4100 import checksum, encode_frame
from sim.readers.pty import PtyPort

FRAME_INTERVAL_S = 0.065


class SimEm4100Module:
    """An RDM6300-style module; the gate opens ``link``."""

    def __init__(self, link: str | os.PathLike[str], *, frame_interval_s: float = FRAME_INTERVAL_S) -> None:
        self.port = PtyPort(link)
        self.link = self.port.link
        self.frame_interval_s = frame_interval_s
        self._stop = threading.Event()

    def tap(self, card: bytes, frames: int = 3) -> None:
        """A quick tap: the card is in the field for ``frames`` repetitions."""
        for i in range(frames):
            self._send(encode_frame(card))
            if i < frames - 1:
                self._wait(self.frame_interval_s)

    def hold(self, card: bytes, seconds: float) -> None:
        """The card held against the reader: a frame every ``frame_interval_s`` for ``seconds``."""
        frames = max(1, round(seconds / self.frame_interval_s))
        self.tap(card, frames)

    def noise(self, rng: np.random.Generator, size: int = 32) -> bytes:
        """Random bytes on the line (returns them, for the test's record)."""
        data = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        self._send(data)
        return data

    def half_frame(self, card: bytes) -> None:
        """The card pulled away mid-frame: only the first half of a frame."""
        self._send(encode_frame(card)[:7])

    def false_zero_frame(self) -> None:
        """The false frame cheap modules emit: id 00 00 00 00 00 with its (valid) checksum."""
        zero = bytes(5)
        self._send(b"\x02" + zero.hex().encode() + f"{checksum(zero):02X}".encode() + b"\x03")

    def unplug(self) -> None:
        self.port.unplug()

    def replug(self) -> None:
        self.port.replug()

    def close(self) -> None:
        self._stop.set()
        self.port.close()

    def _send(self, data: bytes) -> None:
        self.port.write(data)

    def _wait(self, seconds: float) -> None:
        # closing the module cuts a hold short; the next write then raises PortError
        self._stop.wait(seconds)

    def __enter__(self) -> SimEm4100Module:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

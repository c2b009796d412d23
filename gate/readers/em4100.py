"""EM4100 125 kHz card modules with RDM6300 framing (RDM6300, RDM630, many clones), 9600 8N1.

A frame is 14 bytes: ``0x02``, 10 ASCII-hex data characters (5 bytes: a version/customer byte and a 32-bit
id), 2 ASCII-hex characters of the XOR of those 5 bytes, ``0x03``. The module sends the frame every ~65 ms
for as long as a card is in the field, and nothing when it is not.

Cheap modules also emit false frames whose checksum is right (all zeros is the usual one, from a card
leaving the field mid-read). So the parser refuses the all-zero id and reports a card only after two
identical valid frames in a row; after that it stays quiet while the card is held and reports it again only
once the card has been away for ``release_s`` (no frame of it for that long).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import serial

from gate.readers.base import CardRead, ReaderError, SerialCardReader
from protocol.cards import uid_from_bytes

STX = 0x02
ETX = 0x03
FRAME_LEN = 14
DATA_CHARS = 10
BAUDRATE = 9600
RELEASE_S = 0.5  # the module repeats every ~65 ms; half a second of silence means the card went away
CONFIRM_FRAMES = 2
_HEX = frozenset(b"0123456789ABCDEFabcdef")

Clock = Callable[[], float]


def checksum(data: bytes) -> int:
    """XOR of the data bytes, as the module computes it."""
    value = 0
    for byte in data:
        value ^= byte
    return value


def encode_frame(uid: bytes) -> bytes:
    """The 14-byte frame a module sends for a 5-byte card id (the simulator and tests use it)."""
    if len(uid) != DATA_CHARS // 2:
        raise ReaderError(f"an EM4100 id has 5 bytes, not {len(uid)}")
    body = uid.hex().upper() + f"{checksum(uid):02X}"
    return bytes([STX]) + body.encode("ascii") + bytes([ETX])


class Em4100Parser:
    """Bytes from the module in, confirmed card reads out. Pure apart from the injectable clock."""

    def __init__(
        self, *, clock: Clock = time.monotonic, release_s: float = RELEASE_S, confirm: int = CONFIRM_FRAMES
    ) -> None:
        if release_s <= 0 or confirm < 1:
            raise ReaderError("release_s must be positive and confirm at least 1")
        self._clock = clock
        self._release_s = release_s
        self._confirm = confirm
        self._buffer = bytearray()
        self._candidate: bytes | None = None  # data of the last valid frame, not yet reported
        self._candidate_count = 0
        self._candidate_at = 0.0
        self._held: bytes | None = None  # data of the card reported and still in the field
        self._held_at = 0.0
        self.rejects: list[str] = []  # why frames were refused since the last ``take_rejects``

    def take_rejects(self) -> list[str]:
        """The reasons of the frames refused since the last call, for the reader's health."""
        rejects, self.rejects = self.rejects, []
        return rejects

    def feed(self, data: bytes) -> list[CardRead]:
        """Take whatever the port delivered (any split, any garbage); return the cards to report."""
        self._buffer += data
        reads: list[CardRead] = []
        for frame in self._frames():
            read = self._frame(frame)
            if read is not None:
                reads.append(read)
        return reads

    def _frames(self) -> list[bytes]:
        frames: list[bytes] = []
        buf = self._buffer
        while True:
            start = buf.find(STX)
            if start < 0:
                buf.clear()  # nothing here can become a frame
                break
            if start:
                del buf[:start]
            # check what has arrived so far, so a frame cut short by a new STX is dropped at once
            body = buf[1 : min(len(buf), FRAME_LEN - 1)]
            bad = next((i for i, byte in enumerate(body) if byte not in _HEX), None)
            if bad is not None:
                self.rejects.append(f"non-hex byte 0x{body[bad]:02X} inside a frame")
                del buf[: bad + 1]  # resync on the next STX, which may be the offending byte
                continue
            if len(buf) < FRAME_LEN:
                break
            if buf[FRAME_LEN - 1] != ETX:
                self.rejects.append(f"frame ends with 0x{buf[FRAME_LEN - 1]:02X}, not ETX")
                del buf[:1]
                continue
            frames.append(bytes(buf[:FRAME_LEN]))
            del buf[:FRAME_LEN]
        return frames

    def _frame(self, frame: bytes) -> CardRead | None:
        text = frame[1:-1].decode("ascii")
        data = bytes.fromhex(text[:DATA_CHARS])
        if int(text[DATA_CHARS:], 16) != checksum(data):
            self.rejects.append(f"checksum {text[DATA_CHARS:]} does not match {checksum(data):02X}")
            return None
        if not any(data):
            self.rejects.append("all-zero id (a false frame)")
            return None
        now = self._clock()
        if data == self._held and now - self._held_at <= self._release_s:
            self._held_at = now  # still the same hold
            return None
        if data == self._candidate and now - self._candidate_at <= self._release_s:
            self._candidate_count += 1
        else:
            self._candidate, self._candidate_count = data, 1
        self._candidate_at = now
        if self._candidate_count < self._confirm:
            return None
        self._held, self._held_at = data, now
        self._candidate, self._candidate_count = None, 0
        return CardRead(uid=uid_from_bytes(data), protocol="em4100", raw=frame)


class Em4100Reader(SerialCardReader):
    """An EM4100/RDM6300 module on a serial port; it only talks, so the session only listens."""

    protocol = "em4100"

    def __init__(
        self,
        name: str,
        port: str,
        baudrate: int = BAUDRATE,
        *,
        release_s: float = RELEASE_S,
        clock: Clock = time.monotonic,
    ) -> None:
        Em4100Parser(release_s=release_s)  # a bad option fails here, at the gate's start-up
        super().__init__(name, port, baudrate)
        self._release_s = release_s
        self._clock = clock

    def session(self, port: serial.SerialBase) -> None:
        """Read until stopped; a parser per session, so half a frame from before a replug is not glued on."""
        parser = Em4100Parser(clock=self._clock, release_s=self._release_s)
        while not self.stopping:
            # one byte or whatever is waiting: returns as soon as data is there, so a frame is seen at once
            data = port.read(max(1, port.in_waiting))
            if not data:
                continue
            reads = parser.feed(data)
            for why in parser.take_rejects():  # counted first, so health is current when a card is reported
                self.bad_frame(why)
            for read in reads:
                self.card(read)

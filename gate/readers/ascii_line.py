"""Readers that print one card id per line: USB keyboard-less readers, Wiegand-to-UART bridges.

Line formats (``fmt``), one id per line ended by CR, LF or CR LF; blanks around it are ignored:

- ``hex``: the id as hex (``0A1B2C3D``, ``0a:1b:2c:3d``, ``0x0A1B2C3D``) → those bytes.
- ``decimal``: a decimal number (``0001234567``) → ``decimal_bytes`` bytes big-endian (4 for MIFARE UIDs as
  USB readers print them, 5 for EM4100 ids).
- ``wiegand26`` / ``wiegand34``: the raw Wiegand frame *as the bridge received it*, parity bits included,
  either as a string of exactly 26/34 ``0``/``1`` characters or as a number (hex by default, ``wiegand_base=10``
  for bridges that print decimal). We take the raw frame rather than a bridge's own "facility/card" text
  because bridges disagree on that text, while the bit frame is the standard: the leading bit is even parity
  over the first half of the data bits, the trailing bit odd parity over the second half. Both are checked.
  The data bits are facility code + card number (8 + 16 bits for 26-bit H10301, 16 + 16 for 34-bit) and
  the uid is those 24/32 data bits as 3/4 bytes.

A line that does not parse is refused and counted in the reader's health; it never becomes a card. The
same id again within ``repeat_s`` is the same presentation (readers that repeat while the card is held).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

import serial

from gate.readers.base import CardRead, ReaderError, SerialCardReader
from protocol.cards import MAX_UID_BYTES, normalize_uid, uid_from_bytes

LineFormat = Literal["hex", "decimal", "wiegand26", "wiegand34"]
FORMATS: tuple[str, ...] = get_args(LineFormat)
BAUDRATE = 9600
MAX_LINE = 80  # longer than any id line; a longer run without CR/LF is garbage
REPEAT_S = 1.0
WIEGAND_FACILITY_BITS = {26: 8, 34: 16}

Clock = Callable[[], float]


class LineError(ValueError):
    """A line that is not a card id in the configured format (internal: counted, never raised to callers)."""


@dataclass(frozen=True)
class WiegandCard:
    facility: int
    number: int
    data: bytes  # the data bits between the parity bits, big-endian


def decode_wiegand(value: int, bits: int) -> WiegandCard:
    """Check the parity of a raw 26- or 34-bit Wiegand frame and split it; raises ValueError when it fails."""
    if bits not in WIEGAND_FACILITY_BITS:
        raise ValueError(f"Wiegand frames of {bits} bits are not supported (26 or 34)")
    if value < 0 or value >> bits:
        raise ValueError(f"{value:#x} does not fit in {bits} bits")
    data_bits = bits - 2
    half = data_bits // 2
    data = (value >> 1) & ((1 << data_bits) - 1)
    leading, trailing = value >> (bits - 1), value & 1
    first, second = data >> half, data & ((1 << half) - 1)
    if (leading + first.bit_count()) % 2:
        raise ValueError("Wiegand leading (even) parity fails")
    if (trailing + second.bit_count()) % 2 != 1:
        raise ValueError("Wiegand trailing (odd) parity fails")
    number_bits = data_bits - WIEGAND_FACILITY_BITS[bits]
    return WiegandCard(
        facility=data >> number_bits,
        number=data & ((1 << number_bits) - 1),
        data=data.to_bytes(data_bits // 8, "big"),
    )


def encode_wiegand(facility: int, number: int, bits: int) -> int:
    """The raw frame for a facility code and card number, parity bits set (the simulator and tests use it)."""
    if bits not in WIEGAND_FACILITY_BITS:
        raise ValueError(f"Wiegand frames of {bits} bits are not supported (26 or 34)")
    data_bits = bits - 2
    number_bits = data_bits - WIEGAND_FACILITY_BITS[bits]
    if not 0 <= facility < 1 << WIEGAND_FACILITY_BITS[bits] or not 0 <= number < 1 << number_bits:
        raise ValueError(f"facility {facility} / number {number} do not fit a {bits}-bit frame")
    data = (facility << number_bits) | number
    half = data_bits // 2
    leading = (data >> half).bit_count() % 2
    trailing = 1 - (data & ((1 << half) - 1)).bit_count() % 2
    return (leading << (bits - 1)) | (data << 1) | trailing


class AsciiLineParser:
    """Bytes in, card reads out, for one line format. Pure apart from the injectable clock."""

    def __init__(
        self,
        fmt: str = "hex",
        *,
        decimal_bytes: int = 4,
        wiegand_base: int = 16,
        repeat_s: float = REPEAT_S,
        clock: Clock = time.monotonic,
    ) -> None:
        if fmt not in FORMATS:
            raise ReaderError(f"ASCII line format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        if not 1 <= decimal_bytes <= MAX_UID_BYTES:
            raise ReaderError(f"decimal_bytes must be 1..{MAX_UID_BYTES}, not {decimal_bytes}")
        if wiegand_base not in (10, 16):
            raise ReaderError(f"wiegand_base must be 10 or 16, not {wiegand_base}")
        if repeat_s < 0:
            raise ReaderError("repeat_s must not be negative")
        self.fmt = fmt
        self._decimal_bytes = decimal_bytes
        self._wiegand_base = wiegand_base
        self._repeat_s = repeat_s
        self._clock = clock
        self._buffer = bytearray()
        self._overflow = False  # inside an over-long line: drop up to the next end of line
        self._last_uid: str | None = None
        self._last_at = 0.0
        self.rejects: list[str] = []

    def take_rejects(self) -> list[str]:
        """The reasons of the lines refused since the last call."""
        rejects, self.rejects = self.rejects, []
        return rejects

    def feed(self, data: bytes) -> list[CardRead]:
        """Take whatever the port delivered; return the cards in the complete lines."""
        reads: list[CardRead] = []
        for byte in data:
            if byte in (0x0A, 0x0D):
                line, overflow = bytes(self._buffer), self._overflow
                self._buffer.clear()
                self._overflow = False
                if overflow:
                    self.rejects.append(f"line longer than {MAX_LINE} bytes")
                    continue
                read = self._line(line)
                if read is not None:
                    reads.append(read)
            elif not self._overflow:
                self._buffer.append(byte)
                if len(self._buffer) > MAX_LINE:
                    self._buffer.clear()
                    self._overflow = True
        return reads

    def uid(self, text: str) -> bytes:
        """The card bytes for one line's text; raises LineError when it is not an id in this format."""
        try:
            if self.fmt == "hex":
                body = text[2:] if text[:2].lower() == "0x" else text
                return bytes.fromhex(normalize_uid(body))
            if self.fmt == "decimal":
                if not text.isdigit() or not text.isascii():
                    raise ValueError(f"{text!r} is not a decimal number")
                return int(text).to_bytes(self._decimal_bytes, "big")
            return self.wiegand(text).data
        except (ValueError, OverflowError) as err:
            raise LineError(str(err)) from err

    def wiegand(self, text: str) -> WiegandCard:
        """Facility code and card number of a Wiegand line (``wiegand26``/``wiegand34`` formats)."""
        bits = int(self.fmt.removeprefix("wiegand"))
        if len(text) == bits and set(text) <= {"0", "1"}:
            value = int(text, 2)
        else:
            body = text[2:] if self._wiegand_base == 16 and text[:2].lower() == "0x" else text
            digits = "0123456789abcdefABCDEF" if self._wiegand_base == 16 else "0123456789"
            if not body or any(char not in digits for char in body):
                raise ValueError(f"{text!r} is not a base-{self._wiegand_base} number")
            value = int(body, self._wiegand_base)
        return decode_wiegand(value, bits)

    def _line(self, line: bytes) -> CardRead | None:
        try:
            text = line.decode("ascii").strip()
        except UnicodeDecodeError:
            self.rejects.append("line with non-ASCII bytes")
            return None
        if not text:
            return None
        try:
            uid = uid_from_bytes(self.uid(text))
        except LineError as err:
            self.rejects.append(f"{self.fmt} line {text[:40]!r}: {err}")
            return None
        now = self._clock()
        if uid == self._last_uid and now - self._last_at <= self._repeat_s:
            self._last_at = now
            return None
        self._last_uid, self._last_at = uid, now
        return CardRead(uid=uid, protocol="ascii", raw=line)


class AsciiLineReader(SerialCardReader):
    """A reader that prints one id per line, in the format ``fmt`` (see the module's docstring)."""

    protocol = "ascii"

    def __init__(
        self,
        name: str,
        port: str,
        baudrate: int = BAUDRATE,
        *,
        fmt: str = "hex",
        decimal_bytes: int = 4,
        wiegand_base: int = 16,
        repeat_s: float = REPEAT_S,
        clock: Clock = time.monotonic,
    ) -> None:
        # build one parser now so a bad option fails here, in the gate's start-up, not on the reader's thread
        AsciiLineParser(fmt, decimal_bytes=decimal_bytes, wiegand_base=wiegand_base, repeat_s=repeat_s)
        super().__init__(name, port, baudrate)
        self.fmt = fmt
        self._decimal_bytes = decimal_bytes
        self._wiegand_base = wiegand_base
        self._repeat_s = repeat_s
        self._clock = clock

    def session(self, port: serial.SerialBase) -> None:
        """Read lines until stopped; a fresh parser per session so half a line from before a replug is dropped."""
        parser = AsciiLineParser(
            self.fmt,
            decimal_bytes=self._decimal_bytes,
            wiegand_base=self._wiegand_base,
            repeat_s=self._repeat_s,
            clock=self._clock,
        )
        while not self.stopping:
            data = port.read(max(1, port.in_waiting))
            if not data:
                continue
            reads = parser.feed(data)
            for why in parser.take_rejects():  # counted first, so health is current when a card is reported
                self.bad_frame(why)
            for read in reads:
                self.card(read)

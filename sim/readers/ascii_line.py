"""A simulated ASCII-line reader on a real pty: one id per line, in the format the gate expects.

``tap(card)`` prints the card the way a reader of that format does: hex, decimal (``decimal_bytes`` wide,
zero-padded to 10 digits as USB readers do), or the raw Wiegand 26/34 frame in hex with its parity bits
(the card bytes are the 24/32 data bits: facility code then card number).
"""

from __future__ import annotations

import os
from types import TracebackType

from gate.readers.ascii_line import FORMATS, WIEGAND_FACILITY_BITS, encode_wiegand
from sim.errors import SimError
from sim.readers.pty import PtyPort


class SimAsciiReader:
    """A reader that prints lines; the gate opens ``link``."""

    def __init__(self, link: str | os.PathLike[str], fmt: str = "hex", *, eol: bytes = b"\r\n") -> None:
        if fmt not in FORMATS:
            raise SimError(f"ASCII reader format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        self.fmt = fmt
        self.eol = eol
        self.port = PtyPort(link)
        self.link = self.port.link

    def text(self, card: bytes) -> str:
        """The line this reader prints for ``card`` (without the line end)."""
        if self.fmt == "hex":
            return card.hex().upper()
        if self.fmt == "decimal":
            return f"{int.from_bytes(card, 'big'):010d}"
        bits = int(self.fmt.removeprefix("wiegand"))
        facility_bits = WIEGAND_FACILITY_BITS[bits]
        if len(card) * 8 != bits - 2:
            raise SimError(f"a {bits}-bit Wiegand card carries {(bits - 2) // 8} bytes, not {len(card)}")
        value = int.from_bytes(card, "big")
        number_bits = bits - 2 - facility_bits
        frame = encode_wiegand(value >> number_bits, value & ((1 << number_bits) - 1), bits)
        return f"{frame:0{(bits + 3) // 4}X}"

    def tap(self, card: bytes) -> None:
        """A card presented: one line."""
        self.line(self.text(card))

    def line(self, text: str | bytes) -> None:
        """Any line (garbage included), with the reader's line end."""
        self.port.write((text.encode("latin-1") if isinstance(text, str) else text) + self.eol)

    def raw(self, data: bytes) -> None:
        """Bytes as they are: half a line, noise."""
        self.port.write(data)

    def unplug(self) -> None:
        self.port.unplug()

    def replug(self) -> None:
        self.port.replug()

    def close(self) -> None:
        self.port.close()

    def __enter__(self) -> SimAsciiReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

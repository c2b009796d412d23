"""ASCII-line readers end to end over a real pty, each line format."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.readers.ascii_line import AsciiLineReader
from gate.readers.factory import open_reader
from sim.readers.ascii_line import SimAsciiReader
from tests.sim.readers.lane import running, wait_for


@pytest.mark.parametrize(
    ("fmt", "card", "options"),
    [
        ("hex", bytes.fromhex("04A2B3C4D5E680"), {}),
        ("decimal", bytes.fromhex("0012D687"), {"decimal_bytes": 4}),
        ("wiegand26", bytes.fromhex("7B3039"), {}),
        ("wiegand34", bytes.fromhex("BEEF10E1"), {}),
    ],
)
def test_formats(tmp_path: Path, fmt: str, card: bytes, options: dict[str, int]) -> None:
    with SimAsciiReader(tmp_path / "ttyACM0", fmt) as sim:
        reader = open_reader("usb", "ascii", str(sim.link), fmt=fmt, repeat_s=0.0, **options)
        assert isinstance(reader, AsciiLineReader)
        with running(reader) as lane:
            sim.line("garbage!")
            sim.raw(b"\xff\xfe\n")
            sim.tap(card)
            read = lane.next_read()
            assert read.uid == card.hex().upper()
            assert read.protocol == "ascii"
            assert read.raw.strip() == sim.text(card).encode()
            assert lane.reads.empty()
            assert reader.health().frames_bad == 2  # "garbage!" and the line of stray bytes


def test_held_card_repeating_lines_is_one_read_and_replug(tmp_path: Path) -> None:
    with SimAsciiReader(tmp_path / "ttyUSB0", "hex") as sim, running(AsciiLineReader("usb", str(sim.link))) as lane:
        for _ in range(5):
            sim.tap(b"\xde\xad\xbe\xef")
        sim.tap(b"\x01\x02\x03\x04")
        assert [lane.next_read().uid, lane.next_read().uid] == ["DEADBEEF", "01020304"]
        sim.raw(b"CAFE")  # half a line, then the adapter is pulled
        sim.unplug()
        wait_for(lambda: not lane.reader.health().connected)
        sim.replug()
        wait_for(lambda: lane.reader.health().reconnects == 1 and lane.reader.health().connected)
        sim.tap(b"\x0a\x0b\x0c\x0d")
        assert lane.next_read().uid == "0A0B0C0D"  # the half line before the replug is not glued on

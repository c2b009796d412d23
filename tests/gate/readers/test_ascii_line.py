"""ASCII-line readers: hex, decimal and Wiegand 26/34 lines, parity, repeats, garbage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.readers.ascii_line import AsciiLineParser, decode_wiegand, encode_wiegand
from gate.readers.base import ReaderError


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def uids(parser: AsciiLineParser, data: bytes) -> list[str]:
    return [read.uid for read in parser.feed(data)]


def test_hex_lines_in_any_shape() -> None:
    clock = Clock()
    parser = AsciiLineParser("hex", clock=clock, repeat_s=0)
    assert uids(parser, b"0a1b2c3d\r\n") == ["0A1B2C3D"]
    clock.now += 1
    assert uids(parser, b"  0x04:12:34:56:78:9A:BC \n\n\r") == ["04123456789ABC"]


def test_decimal_lines_become_big_endian_bytes() -> None:
    parser = AsciiLineParser("decimal", decimal_bytes=4, clock=Clock())
    assert uids(parser, b"0001234567\r\n") == ["0012D687"]
    em = AsciiLineParser("decimal", decimal_bytes=5, clock=Clock())
    assert uids(em, b"423012593901\n") == [(423012593901).to_bytes(5, "big").hex().upper()]


def test_decimal_too_big_for_its_bytes_is_refused() -> None:
    parser = AsciiLineParser("decimal", decimal_bytes=4, clock=Clock())
    assert uids(parser, b"4294967296\n") == []
    assert "int too big" in parser.take_rejects()[0]


# HID H10301 26-bit: facility 1, card 1 — the bits as bridges print them, and the same value in hex
W26_FC1_CARD1 = "10000000100000000000000010"  # P=1 (one 1 in bits 2-13), P=0 (one 1 in 14-25)


def test_wiegand26_known_frame() -> None:
    value = int(W26_FC1_CARD1, 2)
    card = decode_wiegand(value, 26)
    assert (card.facility, card.number, card.data) == (1, 1, bytes.fromhex("010001"))
    assert encode_wiegand(1, 1, 26) == value


def test_wiegand26_line_as_bits_hex_and_decimal() -> None:
    for base, text in ((16, f"{int(W26_FC1_CARD1, 2):X}"), (16, W26_FC1_CARD1), (10, str(int(W26_FC1_CARD1, 2)))):
        parser = AsciiLineParser("wiegand26", wiegand_base=base, clock=Clock())
        assert uids(parser, text.encode() + b"\r\n") == ["010001"], text


def test_wiegand34_round_trip_and_parity() -> None:
    value = encode_wiegand(0xBEEF, 4321, 34)
    card = decode_wiegand(value, 34)
    assert (card.facility, card.number) == (0xBEEF, 4321)
    assert card.data == bytes.fromhex("BEEF10E1")
    parser = AsciiLineParser("wiegand34", clock=Clock())
    assert uids(parser, f"{value:09X}\n".encode()) == ["BEEF10E1"]
    for bit in (0, 33):  # either parity bit flipped
        assert uids(parser, f"{value ^ (1 << bit):09X}\n".encode()) == []
    assert [why for why in parser.take_rejects() if "parity" in why] and len(parser.rejects) == 0


@given(st.integers(0, 255), st.integers(0, 0xFFFF), st.integers(0, 25))
def test_wiegand26_any_single_bit_error_is_caught(facility: int, number: int, bit: int) -> None:
    value = encode_wiegand(facility, number, 26)
    assert decode_wiegand(value, 26).data == bytes([facility]) + number.to_bytes(2, "big")
    with pytest.raises(ValueError, match="parity"):
        decode_wiegand(value ^ (1 << bit), 26)


def test_wiegand_too_many_bits() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        decode_wiegand(1 << 26, 26)


def test_repeats_within_repeat_s_are_one_presentation() -> None:
    clock = Clock()
    parser = AsciiLineParser("hex", repeat_s=1.0, clock=clock)
    seen = []
    for _ in range(10):
        seen += uids(parser, b"DEADBEEF\n")
        clock.now += 0.3
    assert seen == ["DEADBEEF"]
    clock.now += 1.5
    assert uids(parser, b"DEADBEEF\n") == ["DEADBEEF"]
    assert uids(parser, b"CAFEBABE\n") == ["CAFEBABE"]


def test_split_lines_and_garbage() -> None:
    parser = AsciiLineParser("hex", clock=Clock())
    stream = b"\xff\xfe\n" + b"zz top\r\n" + b"DEAD" + b"BEEF\r" + b"\n" + b"X" * 200 + b"0102\n" + b"ABC\n"
    seen = [uid for i in range(len(stream)) for uid in uids(parser, stream[i : i + 1])]
    assert seen == ["DEADBEEF"]  # the over-long line swallows its tail, ABC is odd-length
    assert len(parser.take_rejects()) == 4


def test_bad_options_fail_at_once() -> None:
    with pytest.raises(ReaderError):
        AsciiLineParser("wiegand37")
    with pytest.raises(ReaderError):
        AsciiLineParser("decimal", decimal_bytes=0)
    with pytest.raises(ReaderError):
        AsciiLineParser("wiegand26", wiegand_base=8)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(["hex", "decimal", "wiegand26", "wiegand34"]))
def test_random_bytes_never_crash_and_cards_come_from_lines(data: bytes, fmt: str) -> None:
    parser = AsciiLineParser(fmt, clock=Clock())
    for read in parser.feed(data):
        assert read.raw in data
        assert read.raw.strip()

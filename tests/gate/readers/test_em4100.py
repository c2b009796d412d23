"""EM4100/RDM6300 frame parser: documented frames, debounce, garbage, split frames, random streams."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.readers.base import ReaderError
from gate.readers.em4100 import Em4100Parser, checksum, encode_frame

# The RDM6300 datasheet's example: card 62 E3 08 6C ED, checksum 62^E3^08^6C^ED = 08.
DATASHEET_FRAME = bytes.fromhex("02 36 32 45 33 30 38 36 43 45 44 30 38 03")
CARD = bytes.fromhex("62E3086CED")


class Clock:
    """Time the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def held(parser: Em4100Parser, clock: Clock, frame: bytes, count: int, step: float = 0.065) -> list[str]:
    uids: list[str] = []
    for _ in range(count):
        uids += [read.uid for read in parser.feed(frame)]
        clock.now += step
    return uids


def test_datasheet_frame_checksum() -> None:
    assert checksum(CARD) == 0x08
    assert encode_frame(CARD) == DATASHEET_FRAME


def test_brief_example_has_a_different_checksum() -> None:
    # 62 00 1D 67 AD checks as B5; a frame carrying D7 is refused
    assert checksum(bytes.fromhex("62001D67AD")) == 0xB5
    parser = Em4100Parser(clock=Clock())
    assert parser.feed(b"\x02" + b"62001D67ADD7" + b"\x03") == []
    assert parser.take_rejects() == ["checksum D7 does not match B5"]


def test_two_identical_frames_make_one_card() -> None:
    clock = Clock()
    parser = Em4100Parser(clock=clock)
    assert parser.feed(DATASHEET_FRAME) == []
    clock.now += 0.065
    (read,) = parser.feed(DATASHEET_FRAME)
    assert read.uid == "62E3086CED"
    assert read.protocol == "em4100"
    assert read.raw == DATASHEET_FRAME


def test_lowercase_hex_frame() -> None:
    frame = DATASHEET_FRAME.lower()  # STX/ETX are unaffected
    assert [read.uid for read in Em4100Parser(clock=Clock()).feed(frame * 2)] == ["62E3086CED"]


def test_held_card_is_reported_once_and_again_after_release() -> None:
    clock = Clock()
    parser = Em4100Parser(clock=clock, release_s=0.5)
    assert held(parser, clock, DATASHEET_FRAME, 60) == ["62E3086CED"]  # ~4 s held
    clock.now += 0.6
    assert held(parser, clock, DATASHEET_FRAME, 3) == ["62E3086CED"]


def test_short_gap_is_the_same_hold() -> None:
    clock = Clock()
    parser = Em4100Parser(clock=clock, release_s=0.5)
    assert held(parser, clock, DATASHEET_FRAME, 3) == ["62E3086CED"]
    clock.now += 0.3
    assert held(parser, clock, DATASHEET_FRAME, 3) == []


def test_all_zero_frame_is_refused_even_twice() -> None:
    parser = Em4100Parser(clock=Clock())
    zero = encode_frame_unchecked(bytes(5))
    assert parser.feed(zero * 4) == []
    assert parser.take_rejects() == ["all-zero id (a false frame)"] * 4


def encode_frame_unchecked(data: bytes) -> bytes:
    return b"\x02" + data.hex().upper().encode() + f"{checksum(data):02X}".encode() + b"\x03"


def test_single_false_frame_between_real_ones_needs_confirmation_again() -> None:
    clock = Clock()
    parser = Em4100Parser(clock=clock)
    other = encode_frame(bytes.fromhex("0102030405"))
    reads = parser.feed(DATASHEET_FRAME + other + DATASHEET_FRAME + other)
    assert reads == []  # never two identical valid frames in a row


def test_split_frame_byte_by_byte() -> None:
    parser = Em4100Parser(clock=Clock())
    reads = [read.uid for byte in DATASHEET_FRAME * 2 for read in parser.feed(bytes([byte]))]
    assert reads == ["62E3086CED"]


def test_frame_cut_in_half_then_whole_frames() -> None:
    parser = Em4100Parser(clock=Clock())
    reads = parser.feed(DATASHEET_FRAME[:7] + DATASHEET_FRAME + DATASHEET_FRAME)
    assert [read.uid for read in reads] == ["62E3086CED"]
    assert len(parser.take_rejects()) == 1


def test_garbage_around_frames() -> None:
    parser = Em4100Parser(clock=Clock())
    noise = b"\xff\x00\x03garbage\x02\x02zz"
    reads = parser.feed(noise + DATASHEET_FRAME + noise[:4] + DATASHEET_FRAME + noise)
    assert [read.uid for read in reads] == ["62E3086CED"]


def test_missing_etx_is_refused() -> None:
    parser = Em4100Parser(clock=Clock())
    bad = DATASHEET_FRAME[:-1] + b"\x04"
    assert parser.feed(bad * 3) == []
    assert parser.take_rejects()


def test_bad_options() -> None:
    with pytest.raises(ReaderError):
        Em4100Parser(release_s=0)
    with pytest.raises(ReaderError):
        encode_frame(b"\x01\x02")


PIECES = [
    DATASHEET_FRAME,
    DATASHEET_FRAME[:6],
    DATASHEET_FRAME[6:],
    encode_frame_unchecked(bytes(5)),
    encode_frame(bytes.fromhex("0102030405")),
    DATASHEET_FRAME[:-1] + b"\x04",
    b"\x02",
    b"\x03",
    b"0123456789ABCDEF",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=40), st.sampled_from(PIECES)), max_size=30))
def test_random_streams_never_make_a_phantom_card(chunks: list[bytes]) -> None:
    clock = Clock()
    parser = Em4100Parser(clock=clock)
    stream = b"".join(chunks)
    reads = [read for chunk in chunks for read in parser.feed(chunk)]
    for read in reads:
        assert read.uid != "0000000000"
        # a card only where the stream holds that valid frame at least twice
        assert stream.upper().count(encode_frame(bytes.fromhex(read.uid))) >= 2
        assert read.raw.upper() == encode_frame(bytes.fromhex(read.uid))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=30), st.binary(max_size=30), st.lists(st.integers(1, 20), min_size=1, max_size=8))
def test_valid_pair_inside_noise_is_found_in_any_split(before: bytes, after: bytes, cuts: list[int]) -> None:
    clock = Clock()
    parser = Em4100Parser(clock=clock)
    # noise must not end inside something that swallows our STX: cut a trailing partial frame with a newline
    stream = before + b"\n" + DATASHEET_FRAME * 2 + after
    reads: list[str] = []
    pos = 0
    for cut in cuts * 20:
        reads += [read.uid for read in parser.feed(stream[pos : pos + cut])]
        pos += cut
    reads += [read.uid for read in parser.feed(stream[pos:])]
    assert reads.count("62E3086CED") == 1

"""PN532 HSU frame codec: frames from the PN532 User Manual (UM0701-02), ACK/NACK/error, bad LCS/DCS, noise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.readers.base import ReaderError
from gate.readers.pn532 import (
    ACK_FRAME,
    ERROR_FRAME,
    LIST_ONE_TYPE_A,
    NACK_FRAME,
    SAM_NORMAL,
    Ack,
    DataFrame,
    ErrorFrame,
    Nack,
    Pn532Decoder,
    encode_frame,
    target_uids,
)

# UM0701-02 §7.2.2 GetFirmwareVersion and its answer (PN532 v1.6)
GET_FIRMWARE = bytes.fromhex("00 00 FF 02 FE D4 02 2A 00")
FIRMWARE_ANSWER = bytes.fromhex("00 00 FF 06 FA D5 03 32 01 06 07 E8 00")
SAM_FRAME = bytes.fromhex("00 00 FF 05 FB D4 14 01 14 01 02 00")
LIST_FRAME = bytes.fromhex("00 00 FF 04 FC D4 4A 01 00 E1 00")
# InListPassiveTarget answers: a MIFARE Classic 1K (4-byte UID), a MIFARE Ultralight (7-byte UID), none
CLASSIC = bytes.fromhex("4B 01 01 00 04 08 04 DE AD BE EF")
ULTRALIGHT = bytes.fromhex("4B 01 01 00 44 00 07 04 12 34 56 78 9A BC")
DESFIRE = bytes.fromhex("4B 01 01 03 44 20 07 04 11 22 33 44 55 66 06 75 77 81 02 80")
EMPTY = bytes.fromhex("4B 00")


def test_host_frames_match_the_manual() -> None:
    assert encode_frame(bytes([0x02])) == GET_FIRMWARE
    assert encode_frame(SAM_NORMAL) == SAM_FRAME
    assert encode_frame(LIST_ONE_TYPE_A) == LIST_FRAME


def test_decodes_firmware_answer() -> None:
    (frame,) = Pn532Decoder().feed(FIRMWARE_ANSWER)
    assert frame == DataFrame(tfi=0xD5, data=bytes.fromhex("03 32 01 06 07"), raw=FIRMWARE_ANSWER)


def test_ack_nack_error() -> None:
    frames = Pn532Decoder().feed(ACK_FRAME + NACK_FRAME + ERROR_FRAME + ACK_FRAME + FIRMWARE_ANSWER)
    assert frames[:4] == [Ack(), Nack(), ErrorFrame(), Ack()]
    assert isinstance(frames[4], DataFrame)


def test_target_uids() -> None:
    assert target_uids(CLASSIC) == [bytes.fromhex("DEADBEEF")]
    assert target_uids(ULTRALIGHT) == [bytes.fromhex("04123456789ABC")]
    assert target_uids(DESFIRE) == [bytes.fromhex("04112233445566")]
    assert target_uids(EMPTY) == []


@pytest.mark.parametrize("bad", [bytes.fromhex("4B 01 01 00 04 08 09 01 02 03"), bytes.fromhex("4B 01 01"), b"\x15"])
def test_target_uids_refuses_malformed(bad: bytes) -> None:
    with pytest.raises(ReaderError):
        target_uids(bad)


def test_split_byte_by_byte() -> None:
    decoder = Pn532Decoder()
    stream = ACK_FRAME + encode_frame(CLASSIC, 0xD5)
    frames = [frame for byte in stream for frame in decoder.feed(bytes([byte]))]
    assert frames == [Ack(), DataFrame(0xD5, CLASSIC, encode_frame(CLASSIC, 0xD5))]


def test_bad_lcs_and_dcs_are_refused_and_resynced() -> None:
    decoder = Pn532Decoder()
    good = encode_frame(CLASSIC, 0xD5)
    bad_lcs = good[:4] + bytes([good[4] ^ 0x01]) + good[5:]
    bad_dcs = good[:-2] + bytes([good[-2] ^ 0x01]) + good[-1:]
    frames = decoder.feed(bad_lcs + bad_dcs + good)
    assert frames == [DataFrame(0xD5, CLASSIC, good)]
    rejects = decoder.take_rejects()
    assert any("LCS" in why for why in rejects)
    assert any("DCS" in why for why in rejects)


def test_noise_and_wake_up_bytes_before_a_frame() -> None:
    frames = Pn532Decoder().feed(b"\x55\x55" + bytes(14) + b"\xff\x13\x37" + FIRMWARE_ANSWER)
    assert next(frame for frame in frames if isinstance(frame, DataFrame)).data[0] == 0x03


def test_extended_frame_round_trip() -> None:
    data = bytes(range(256))
    frame = encode_frame(data, 0xD5)
    assert frame[3:5] == b"\xff\xff"
    assert Pn532Decoder().feed(frame) == [DataFrame(0xD5, data, frame)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=30), st.sampled_from([ACK_FRAME, b"\x00\xff", b"\x00"])), max_size=30))
def test_random_streams_never_crash(chunks: list[bytes]) -> None:
    decoder = Pn532Decoder()
    for chunk in chunks:
        for frame in decoder.feed(chunk):
            if isinstance(frame, DataFrame):
                # every information frame that comes out passed both checksums
                assert (sum(frame.raw[3:5]) & 0xFF == 0) or frame.raw[3:5] == b"\xff\xff"
                assert (frame.tfi + sum(frame.data) + frame.raw[-2]) & 0xFF == 0


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40), st.lists(st.integers(1, 9), min_size=1, max_size=6))
def test_frame_after_noise_survives_any_split(noise: bytes, cuts: list[int]) -> None:
    good = encode_frame(ULTRALIGHT, 0xD5)
    # a start code inside the noise may swallow what follows, as on a real line; a gap of zeros lets it time out
    stream = noise + bytes(300) + good
    decoder = Pn532Decoder()
    frames = []
    pos = 0
    for cut in cuts * 60:
        frames += decoder.feed(stream[pos : pos + cut])
        pos += cut
    frames += decoder.feed(stream[pos:])
    assert DataFrame(0xD5, ULTRALIGHT, good) in frames

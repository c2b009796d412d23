"""The vote across frames: agreement accepts, disagreement past the timeout is a no-read with a crop."""

from __future__ import annotations

import numpy as np

from gate.plates import PlateRead, PlateVote
from protocol.plates import PlateMatch

CROP = np.zeros((64, 256), dtype=np.uint8)
QUAD = np.zeros((4, 2), dtype=np.float32)


def _read(text: str, confidence: float = 0.97) -> PlateRead:
    return PlateRead(PlateMatch(text, "KZ", "kz_2012", 0), confidence, QUAD, CROP)


def test_two_agreeing_reads_accept() -> None:
    vote = PlateVote(votes_needed=2, window_s=3.0, no_read_after_s=6.0)
    assert vote.add(_read("123ABC02"), 0.0) is None
    result = vote.add(_read("123ABC02", 0.99), 0.5)
    assert result is not None and result.plate == "123ABC02" and result.votes == 2
    assert result.confidence == 0.99 and result.country == "KZ"
    assert vote.add(_read("123ABC02"), 0.6) is None  # one result per vehicle


def test_disagreeing_reads_do_not_accept_and_become_a_no_read() -> None:
    vote = PlateVote(votes_needed=2, window_s=3.0, no_read_after_s=6.0)
    assert vote.add(_read("123ABC02"), 0.0) is None
    assert vote.add(_read("123ABC08"), 1.0) is None
    assert vote.expire(5.9) is None
    result = vote.expire(6.0)
    assert result is not None and result.plate is None and result.crop is CROP and result.votes == 1
    assert vote.expire(7.0) is None


def test_reads_outside_the_window_do_not_agree() -> None:
    vote = PlateVote(votes_needed=2, window_s=1.0, no_read_after_s=60.0)
    assert vote.add(_read("123ABC02"), 0.0) is None
    assert vote.add(_read("123ABC02"), 2.0) is None
    assert vote.add(_read("123ABC02"), 2.5) is not None


def test_low_confidence_reads_never_vote() -> None:
    vote = PlateVote(votes_needed=2, min_confidence=0.5)
    assert vote.add(_read("123ABC02", 0.3), 0.0) is None
    assert vote.add(_read("123ABC02", 0.3), 0.1) is None


def test_reset_starts_the_next_vehicle_fresh() -> None:
    vote = PlateVote(votes_needed=1)
    assert vote.add(_read("123ABC02"), 0.0) is not None
    vote.reset()
    result = vote.add(_read("777XYZ01"), 10.0)
    assert result is not None and result.plate == "777XYZ01"


def test_a_no_read_before_any_plate_carries_no_crop() -> None:
    vote = PlateVote(no_read_after_s=2.0)
    vote.begin(0.0)
    result = vote.expire(2.0)
    assert result is not None and result.plate is None and result.crop is None

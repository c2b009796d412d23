"""Which plate in view is the car at the barrier's: the nearest, whose characters are the tallest."""

from __future__ import annotations

import numpy as np

from gate.plates.localise import ROW_HEIGHT, PlateCandidate, quad_overlap
from gate.plates.reader import (
    CONTRADICTS,
    NEAR_READ,
    NEARER,
    NEAREST_SHARE,
    SAME_PLACE,
    STEADY_BELOW,
    UNSTEADY,
    PlateRead,
    Seen,
    contradicted,
    doubted,
    nearest,
    rank,
    worth_reading,
)
from gate.plates.settings import PlateSettings
from protocol.plates import match_plate


def _candidate(x: float, char_px: float, source: str = "edges") -> PlateCandidate:
    row = np.array([[x, 100], [x + 5 * char_px, 100], [x + 5 * char_px, 100 + ROW_HEIGHT * char_px],
                    [x, 100 + ROW_HEIGHT * char_px]], dtype=np.float32)  # fmt: skip
    return PlateCandidate(row, (row,), 5.0, source)


def test_plates_of_cars_further_off_are_not_read() -> None:
    barrier, queued, parked = _candidate(500, 40), _candidate(100, 18), _candidate(900, 0.9 * 40)
    assert barrier.char_px == 40
    assert nearest([queued, barrier, parked]) == [barrier, parked]  # order kept: the ranking is the localiser's
    assert nearest([queued]) == [queued]  # alone in view, the queued car is the nearest one
    assert nearest([]) == []


def test_a_blob_does_not_set_the_size_but_is_kept_when_big_enough() -> None:
    """A blob's height is the whole plate's, not a character's: it cannot push real rows out."""
    rows, big_blob, small_blob = (
        _candidate(500, 30),
        _candidate(100, 80, "edges-blob"),
        _candidate(0, 10, "bright-blob"),
    )
    assert big_blob.blob and not rows.blob
    assert nearest([big_blob, rows, small_blob]) == [big_blob, rows]
    assert nearest([small_blob]) == [small_blob]  # only blobs: nothing to compare with
    assert NEAREST_SHARE * 30 > 10


def test_a_car_further_off_is_not_read_even_when_alone_in_view() -> None:
    """The barrier car's plate missed (dirt, glare): a queued car's small plate must not stand in for it."""
    queued, barrier_blob = _candidate(100, 12), _candidate(500, 45, "bright-blob")
    assert nearest([queued, barrier_blob], min_char_px=16) == [barrier_blob]
    assert nearest([queued], min_char_px=16) == []
    assert nearest([queued], min_char_px=0) == [queued]


def _seen(text: str, confidence: float, char_px: float, x: float = 0) -> Seen:
    match = match_plate(text, ("KZ",))
    assert match is not None
    quad = _candidate(x, char_px).quad
    read = PlateRead(match, confidence, quad, np.zeros((8, 8), dtype=np.uint8))
    return (char_px, confidence >= PlateSettings.min_confidence, read)


def _texts(seen: list[Seen]) -> list[str]:
    return [read.match.text for read in rank(seen)]


def test_a_sure_read_is_dropped_for_a_nearer_plate_read_unsurely_but_not_for_a_lamps_faint_read() -> None:
    """A plate read much nearer, even unsurely, shows a sure read to be a background car's; a lamp or a
    windscreen read as a plate only faintly (0.06, 0.09 seen at night and in traffic) shows nothing."""
    background = _seen("123ABC02", 1.0, 19, x=100)
    barrier = _seen("907XKE15", 0.3, 45, x=500)
    lamp = _seen("500ABC09", 0.09, 56, x=900)
    assert _texts([background, barrier]) == ["907XKE15"]
    assert _texts([background, lamp]) == ["123ABC02", "500ABC09"]
    assert lamp[2].confidence < NEAR_READ <= barrier[2].confidence


def test_the_same_plate_measured_taller_elsewhere_is_not_a_nearer_plate() -> None:
    """The equalised look or a blob may measure a plate's characters half again as tall: read at the same
    place, it is the same plate, and the sure read stands."""
    rows = _seen("993YPW09", 0.996, 18, x=500)
    blob = _seen("993TPW05", 0.898, 30, x=480)
    assert quad_overlap(rows[2].quad, blob[2].quad) >= SAME_PLACE
    assert _texts([blob, rows]) == ["993YPW09", "993TPW05"]
    elsewhere = _seen("993TPW05", 0.898, 30, x=900)
    assert _texts([elsewhere, rows]) == ["993TPW05"]


def test_a_sure_read_another_read_of_its_place_contradicts_is_doubted() -> None:
    """Blur or mud that hides a character makes each crop of the plate surely wrong about it, each its own
    way: two reads of one place that disagree are neither trusted."""
    sure, other_crop, faint, elsewhere = (
        _seen("527LVD02", 0.968, 30, x=500),
        _seen("527EVD02", 0.952, 30, x=505),
        _seen("527EVD02", 0.2, 30, x=505),
        _seen("527EVD02", 0.952, 30, x=900),
    )
    assert contradicted(sure[2], [sure, other_crop])
    assert not contradicted(sure[2], [sure, faint])  # a faint read of the place says nothing
    assert not contradicted(sure[2], [sure, elsewhere])  # another car's plate
    assert not contradicted(sure[2], [sure, _seen("527LVD02", 0.99, 30, x=505)])  # agreeing
    assert faint[2].confidence < CONTRADICTS <= other_crop[2].confidence


def test_past_a_sure_read_only_nearer_plates_and_second_opinions_on_a_doubtful_read_are_read() -> None:
    doubtful = [_seen("527LVD02", 0.97, 30, x=500)]
    certain = [_seen("527LVD02", 0.9999, 30, x=500)]
    same_place, further, nearer = _candidate(505, 30), _candidate(900, 30), _candidate(900, NEARER * 30)
    assert worth_reading(same_place, []) and worth_reading(further, [])  # nothing sure yet: everything
    assert worth_reading(same_place, doubtful) and not worth_reading(same_place, certain)
    assert not worth_reading(further, doubtful)
    assert worth_reading(nearer, doubtful) and worth_reading(nearer, certain)
    assert certain[0][2].confidence >= STEADY_BELOW > doubtful[0][2].confidence


def test_a_doubted_read_stays_under_the_bar_and_the_surer_first() -> None:
    bar = PlateSettings.min_confidence
    levels = [doubted(c, bar) for c in (bar, 0.97, 0.999, 1.0)]
    assert levels == sorted(levels) and len(set(levels)) == 4
    assert UNSTEADY * bar < levels[0] and levels[-1] < bar

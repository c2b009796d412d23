"""Which plate in view is the car at the barrier's: the nearest, whose characters are the tallest."""

from __future__ import annotations

import numpy as np

from gate.plates.localise import ROW_HEIGHT, PlateCandidate
from gate.plates.reader import NEAREST_SHARE, nearest


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

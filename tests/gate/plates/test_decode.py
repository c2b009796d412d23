"""The grammar-constrained CTC decoder on hand-made recogniser outputs (no model needed)."""

from __future__ import annotations

import numpy as np

from gate.plates.decode import ALPHABET, best_path, constrained, layouts
from gate.plates.reader import read_plate
from gate.plates.settings import PlateSettings


def _probs(columns: str, sure: float = 0.96) -> np.ndarray:
    """A recogniser output: one column per character of ``columns`` ('-' is blank), ``sure`` on it."""
    probs = np.full((len(columns), 1 + len(ALPHABET)), (1 - sure) / len(ALPHABET), dtype=np.float32)
    for t, char in enumerate(columns):
        probs[t, 0 if char == "-" else 1 + ALPHABET.index(char)] = sure
    normalised: np.ndarray = probs / probs.sum(axis=1, keepdims=True)
    return normalised


def test_best_path_collapses_repeats_between_blanks() -> None:
    text, confidence = best_path(_probs("--22-2-2--BB-B-B--20--"))
    assert text == "222BBB20" and confidence > 0.9


def test_a_read_the_grammar_agrees_with_keeps_its_confidence() -> None:
    decoded = constrained(_probs("-1-2-3-A-B-C-0-2-"), layouts(("KZ",), False))
    best = max(decoded, key=lambda d: d.confidence)
    assert best.text == "123ABC02" and best.confidence > 0.9


def test_a_letter_in_a_digit_place_is_read_as_the_digit_at_a_cost() -> None:
    probs = _probs("-O-2-3-A-B-C-0-2-")
    probs[1, 1 + ALPHABET.index("0")] = 0.3  # the model half believes the digit
    match, confidence = read_plate(probs / probs.sum(axis=1, keepdims=True), ("KZ",), False, False)
    assert match is not None and match.text == "023ABC02"
    assert confidence < 0.9


def test_a_stray_stroke_lowers_confidence_instead_of_changing_the_text() -> None:
    match, confidence = read_plate(_probs("-7-7-7-U-Q-K-1-0-2-"), ("KZ",), False, False)
    assert match is None or confidence < 0.5


def test_two_row_layout_reads_back_in_one_line_order() -> None:
    match, confidence = read_plate(_probs("-1-2-3--A-B-C-0-2-"), ("KZ",), False, True)
    assert match is not None and match.text == "123ABC02" and confidence > 0.9


def test_generic_mode_reads_what_the_model_sees() -> None:
    match, confidence = read_plate(_probs("-7-A-B-C-1-2-3-", sure=0.99), (), True, False)
    assert match is not None and match.text == "7ABC123" and confidence > 0.9
    assert read_plate(_probs("-A-B-C-"), (), True, False)[0] is None  # no digit: not a plate


def test_a_generic_read_of_digits_alone_is_never_sure() -> None:
    """A date stamp, a phone number or a price reads as digits alone: kept, never sure alone."""
    match, confidence = read_plate(_probs("-2-0-1-4-0-5-1-3-", sure=0.999), (), True, False)
    assert match is not None and match.text == "20140513" and confidence < PlateSettings.min_confidence


def test_a_generic_read_with_one_unsure_character_is_not_sure() -> None:
    """No grammar checks a generic read: one character the model is only 90 % sure of keeps it under the bar."""
    probs = _probs("-7-A-B-C-1-2-3-", sure=0.99)
    probs[9] = _probs("1", sure=0.9)[0]  # column 9 is the "1"
    match, confidence = read_plate(probs, (), True, False)
    assert match is not None and match.text == "7ABC123"
    assert confidence < 0.5

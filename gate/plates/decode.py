"""Reading the recogniser's per-column character probabilities as a plate, with the grammar inside the decoder.

The recogniser answers, for each column of the crop, a probability per character and one for "blank"
(CTC). Its own decoders pick the likeliest text and only then would a grammar check it, so a flag-band stroke
read as ``4`` or a region box's side read as ``1`` sinks the whole read. Here the grammar decides the text:
for each plate layout (a digit or letter class per position) a Viterbi pass over the CTC lattice finds the
likeliest text of exactly that shape, a confusable character then costs what the model thinks of it rather
than a fixed penalty, and a stray stroke must be explained as blank (which the model says it is not, so the
read's confidence drops instead of its text changing).

``confidence`` of a read is the likelihood of its best path over the likelihood of the best unconstrained
path (1.0 when the grammar agrees with the model), times the geometric mean of the peak probabilities of its
characters: a read is sure only when the model is sure of every character and the grammar took nothing away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from protocol.plates import GRAMMARS, PlateMatch

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # column j + 1 of a probability matrix (column 0 is blank)
_DIGITS = "0123456789"
_LATIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Slot classes of protocol.plates' shapes (the grammar keeps its table private; match_plate re-checks
# every text decoded here, so a drift between the two can only make reads fail, never pass wrongly).
_SLOT_CHARS = {
    "9": _DIGITS,
    "A": _LATIN,
    "R": "ABEKMHOPCTYX",
    "Z": "ABCDEFHKLMNOPRSTUVWXZ",
    "F": "FH",
    "D": "DT",
}
NEG = -1e9
BLANK_SURE = 0.995  # a column this sure of blank holds no character on any likely path
Probs = np.ndarray[Any, np.dtype[np.float32]]  # T × (1 + len(ALPHABET)), rows sum to 1


@dataclass(frozen=True)
class Decoded:
    """The likeliest text of one layout and how sure the model is of it."""

    text: str
    confidence: float
    layout: str
    split: int = 0  # two-row layouts: characters on the top row


@dataclass(frozen=True)
class Layout:
    """One shape a plate's characters take on the crop, left to right (two rows side by side)."""

    slots: str  # slot codes, e.g. "999AAA99"
    split: int  # for two-row layouts the number of characters on the top row, else 0
    masks: np.ndarray[Any, np.dtype[np.bool_]]  # len(slots) × (1 + len(ALPHABET)): allowed columns


def _mask(slots: str) -> np.ndarray[Any, np.dtype[np.bool_]]:
    mask = np.zeros((len(slots), 1 + len(ALPHABET)), dtype=bool)
    for k, code in enumerate(slots):
        for char in _SLOT_CHARS[code]:
            mask[k, 1 + ALPHABET.index(char)] = True
    return mask


@lru_cache(maxsize=32)
def layouts(countries: tuple[str, ...], two_row: bool) -> tuple[Layout, ...]:
    """The distinct one-row (or two-row, as printed: top row then bottom row) layouts of ``countries``."""
    seen: dict[tuple[str, int], Layout] = {}
    for grammar in GRAMMARS:
        if grammar.country not in countries:
            continue
        for shape in grammar.shapes:
            slots = shape.replace("|", "")
            if not two_row:
                key = (slots, 0)
                seen.setdefault(key, Layout(slots, 0, _mask(slots)))
                continue
            try:
                top, bottom = _two_row_slots(grammar.example, grammar.country, grammar.format, slots)
            except ValueError:
                continue  # a format nobody prints in two rows
            key = (top + bottom, len(top))
            seen.setdefault(key, Layout(top + bottom, len(top), _mask(top + bottom)))
    return tuple(seen.values())


def _two_row_slots(example: str, country: str, fmt: str, slots: str) -> tuple[str, str]:
    """Where a format's slots stand on its two-row plate (``two_row_layout`` tells the split)."""
    from protocol.plates import two_row_layout

    if fmt == "uz":  # region code printed at the bottom right
        return slots[2:6], slots[6:] + slots[:2]
    split = len(two_row_layout(PlateMatch(example, country, fmt, 0))[0])
    return slots[:split], slots[split:]


def best_path(probs: Probs, weakest: bool = False) -> tuple[str, float]:
    """Greedy CTC: the likeliest character per column, repeats and blanks collapsed; EasyOCR's confidence
    (the geometric mean of the characters' peak probabilities) or with ``weakest`` the least sure one's."""
    idx = probs.argmax(axis=1)
    chars: list[str] = []
    peaks: list[float] = []
    prev = 0
    for t, i in enumerate(idx):
        if i != 0 and i != prev:
            chars.append(ALPHABET[i - 1])
            peaks.append(float(probs[t, i]))
        elif i != 0 and peaks:
            peaks[-1] = max(peaks[-1], float(probs[t, i]))
        prev = int(i)
    if not peaks:
        return "", 0.0
    if weakest:
        return "".join(chars), float(min(peaks))
    return "".join(chars), float(np.exp(np.mean(np.log(np.maximum(peaks, 1e-6)))))


def _squeeze(probs: Probs) -> Probs:
    """The columns worth decoding: every column that may hold a character, and one column of each run of
    sure blanks (a run can only be blank, and one blank still separates a repeated character)."""
    sure = probs[:, 0] > BLANK_SURE
    if not sure.any():
        return probs
    keep = ~sure
    keep[1:] |= sure[1:] & ~sure[:-1]  # the first column of each run of sure blanks
    keep[0] = True
    return probs[keep]


def constrained(probs: Probs, layout_set: Sequence[Layout]) -> list[Decoded]:
    """For each layout the likeliest text of exactly that shape (CTC Viterbi), all layouts in one pass."""
    probs = _squeeze(probs)
    logp = np.log(np.maximum(probs, 1e-8)).astype(np.float32)
    steps, classes = logp.shape
    masks = np.concatenate([layout.masks for layout in layout_set])  # S × C over all slots of all layouts
    n_slots = masks.shape[0]
    first = np.zeros(n_slots, dtype=bool)
    last = np.zeros(n_slots, dtype=bool)
    k = 0
    for layout in layout_set:
        first[k] = True
        last[k + len(layout.slots) - 1] = True
        k += len(layout.slots)
    allowed_neg = np.where(masks, 0.0, NEG).astype(np.float32)
    # char[s, c]: best log-prob of a path now emitting c for slot s; blank[s]: now in the blank after slot s;
    # lead[s]: (first slots only) still in the blank before slot s
    char = np.full((n_slots, classes), NEG, dtype=np.float32)
    blank = np.full(n_slots, NEG, dtype=np.float32)
    lead = np.where(first, logp[0, 0], NEG).astype(np.float32)
    char[first] = logp[0] + allowed_neg[first]
    char[:, 0] = NEG
    back_char = np.zeros((steps, n_slots, classes), dtype=np.int8)  # 0 stay, 1 from blank/lead, 2 from prev char
    back_prev = np.zeros((steps, n_slots, classes), dtype=np.int16)  # which char of the previous slot
    back_blank = np.full((steps, n_slots), -1, dtype=np.int16)  # -1 stay, else the char it came from
    cols = np.arange(classes)
    for t in range(1, steps):
        top1 = char.argmax(axis=1)
        top1v = char[np.arange(n_slots), top1]
        masked = char.copy()
        masked[np.arange(n_slots), top1] = NEG
        top2 = masked.argmax(axis=1)
        top2v = masked[np.arange(n_slots), top2]
        # from the previous slot of the same layout (never across layouts)
        prev1 = np.where(first, NEG, np.roll(top1v, 1))
        prev1i = np.roll(top1, 1)
        prev2 = np.where(first, NEG, np.roll(top2v, 1))
        prev2i = np.roll(top2, 1)
        prev_blank = np.where(first, lead, np.roll(blank, 1))
        same = cols[None, :] == prev1i[:, None]
        from_prev = np.where(same, prev2[:, None], prev1[:, None])
        from_prev_i = np.where(same, prev2i[:, None], prev1i[:, None])
        options = np.stack([char, np.broadcast_to(prev_blank[:, None], char.shape), from_prev])
        choice = options.argmax(axis=0)
        new_char = options.max(axis=0) + logp[t][None, :] + allowed_neg
        new_char[:, 0] = NEG
        back_char[t] = choice
        back_prev[t] = from_prev_i
        stay_blank = blank
        enter_blank = top1v
        back_blank[t] = np.where(enter_blank > stay_blank, top1, -1)
        blank = np.maximum(stay_blank, enter_blank) + logp[t, 0]
        lead = lead + logp[t, 0]
        char = new_char
    unconstrained = float(logp.max(axis=1).sum())
    results: list[Decoded] = []
    k = 0
    for layout in layout_set:
        end = k + len(layout.slots) - 1
        end_char = int(char[end].argmax())
        score_char = float(char[end, end_char])
        score_blank = float(blank[end])
        score = max(score_char, score_blank)
        if score < NEG / 2:
            results.append(Decoded("", 0.0, layout.slots))
            k += len(layout.slots)
            continue
        text, peaks = _backtrack(
            probs, back_char, back_prev, back_blank, k, end, end_char, score_blank > score_char, steps
        )
        ratio = float(np.exp(min(0.0, score - unconstrained)))
        mean_peak = float(np.exp(np.mean(np.log(np.maximum(peaks, 1e-6))))) if peaks else 0.0
        results.append(Decoded(text, ratio * mean_peak, layout.slots, layout.split))
        k += len(layout.slots)
    return results


def _backtrack(
    probs: Probs,
    back_char: np.ndarray[Any, Any],
    back_prev: np.ndarray[Any, Any],
    back_blank: np.ndarray[Any, Any],
    start: int,
    slot: int,
    c: int,
    in_blank: bool,
    steps: int,
) -> tuple[str, list[float]]:
    """Walk the back-pointers from the end: the text and each character's peak probability."""
    chars: list[str] = []
    peaks: list[float] = []
    t = steps - 1
    peak = 0.0
    while t >= 0:
        if in_blank:
            came = int(back_blank[t, slot])
            t -= 1
            if came >= 0:
                in_blank, c, peak = False, came, 0.0
            continue
        peak = max(peak, float(probs[t, c]))
        move = int(back_char[t, slot, c]) if t > 0 else 1
        t -= 1
        if move == 0:
            continue
        chars.append(ALPHABET[c - 1])
        peaks.append(peak)
        peak = 0.0
        if move == 2:
            c = int(back_prev[t + 1, slot, c])
            slot -= 1
        elif slot == start:
            break  # the blank before the first character: nothing more to read
        else:
            slot -= 1
            in_blank = True
    return "".join(reversed(chars)), list(reversed(peaks))

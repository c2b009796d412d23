"""Grouping PP-OCRv4's text boxes into plate lines: each box alone, a box with its neighbour on the same line
(a Kazakh plate's region box, a gap the detector split a plate at) and a box over the one beneath it (two-row
plates). The detector finds text anywhere (signs, dealer frames, date stamps): every grouping is only a
candidate, and the recogniser with the grammar decides which reads as a plate."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from gate.plates.localise import ROW_HEIGHT, Image, Quad, rectify
from gate.plates.ppocr import REC_HEIGHT, order_quad

MIN_TEXT_PX = 8.0  # lower boxes cannot hold a legible character
MIN_ASPECT = 1.2  # a one-row plate is wider than this (a narrower box may still be a row or a region box)
MAX_ASPECT = 9.0  # a longer box is a line of prose, a banner or a date stamp, not a plate
BESIDE_GAP = 1.5  # heights between two boxes that may be one plate line (a region box's frame, a space)
BESIDE_HEIGHT = 0.35  # their heights differ by at most this share
UNDER_GAP = 0.6  # heights between a top row's bottom and the row beneath it on a two-row plate
UNDER_OVERLAP = 0.5  # their horizontal overlap as a share of the narrower


@dataclass(frozen=True)
class PlateLine:
    """One or two text rows that may be a plate, in frame pixels; ``score`` is the detector's."""

    rows: tuple[Quad, ...]
    score: float

    @property
    def two_row(self) -> bool:
        return len(self.rows) == 2

    @property
    def quad(self) -> Quad:
        return self.rows[0] if len(self.rows) == 1 else _hull(np.concatenate(self.rows))

    @property
    def char_px(self) -> float:
        """Character height, as ``PlateCandidate.char_px`` measures it (a row is some ``ROW_HEIGHT``
        characters high) so ``rank`` can weigh the two kinds of read against each other."""
        return _height(self.rows[-1]) / ROW_HEIGHT

    def crop(self, frame: Image) -> Image:
        """The rows straightened at the recogniser's height, two rows side by side (top row first)."""
        rows = [rectify(frame, row, REC_HEIGHT) for row in self.rows]
        return rows[0] if len(rows) == 1 else side_by_side(rows)


def plate_lines(boxes: list[tuple[Quad, float]]) -> list[PlateLine]:
    """The text boxes as plate lines: a box with a neighbour on its line is read only joined to it (a plate
    split at its region box would read alone as a shorter plate of another format), a box over another as a
    two-row plate, and every box with no neighbour alone; tallest first (the barrier car's is the nearest)."""
    kept = [(q, s) for q, s in boxes if _height(q) >= MIN_TEXT_PX and _width(q) <= MAX_ASPECT * _height(q)]
    lines: list[PlateLine] = []
    joined: set[int] = set()
    for i, (a, sa) in enumerate(kept):
        for j, (b, sb) in enumerate(kept):
            if i == j:
                continue
            if _beside(a, b):
                hull = _hull(np.concatenate([a, b]))
                if _width(hull) <= MAX_ASPECT * _height(hull):
                    lines.append(PlateLine((hull,), min(sa, sb)))
                    joined |= {i, j}
            elif _under(a, b):
                lines.append(PlateLine((a, b), min(sa, sb)))
    lines += [
        PlateLine((q,), s) for i, (q, s) in enumerate(kept) if i not in joined and _width(q) >= MIN_ASPECT * _height(q)
    ]
    lines.sort(key=lambda line: _height(line.quad), reverse=True)
    return lines


def side_by_side(rows: list[Image]) -> Image:
    """Two rows' crops on one line, as the recognisers read a two-row plate: top row first, at one height,
    a character's gap between them."""
    height = max(r.shape[0] for r in rows)
    scaled = [
        cv2.resize(r, (max(1, round(r.shape[1] * height / r.shape[0])), height), interpolation=cv2.INTER_LINEAR)
        for r in rows
    ]
    gap = np.full((height, height // 2), int(np.percentile(scaled[0], 85)), dtype=np.uint8)
    line: Image = np.hstack([scaled[0], gap, scaled[1]])
    return line


def _beside(a: Quad, b: Quad) -> bool:
    """Whether ``b`` continues ``a``'s line to its right, a short gap away."""
    ha, hb = _height(a), _height(b)
    if abs(ha - hb) > BESIDE_HEIGHT * max(ha, hb):
        return False
    (ax, ay), (bx, by) = a.mean(axis=0), b.mean(axis=0)
    gap = float(b[:, 0].min() - a[:, 0].max())
    return bx > ax and abs(ay - by) < 0.5 * max(ha, hb) and -0.2 * ha <= gap <= BESIDE_GAP * max(ha, hb)


def _under(a: Quad, b: Quad) -> bool:
    """Whether ``b`` is the row beneath ``a`` on one plate."""
    ha, hb = _height(a), _height(b)
    if not 0.5 * ha <= hb <= 2.0 * ha:
        return False
    gap = float(b[:, 1].min() - a[:, 1].max())
    overlap = min(a[:, 0].max(), b[:, 0].max()) - max(a[:, 0].min(), b[:, 0].min())
    narrower = min(_width(a), _width(b))
    return -0.3 * ha <= gap <= UNDER_GAP * ha and overlap >= UNDER_OVERLAP * narrower


def _height(quad: Quad) -> float:
    return float(np.linalg.norm(quad[3] - quad[0]))


def _width(quad: Quad) -> float:
    return float(np.linalg.norm(quad[1] - quad[0]))


def _hull(points: np.ndarray[tuple[int, ...], np.dtype[np.float32]]) -> Quad:
    return order_quad(cv2.boxPoints(cv2.minAreaRect(points.astype(np.float32))).astype(np.float32))

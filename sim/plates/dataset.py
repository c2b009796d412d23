"""Synthetic plate sets for the benchmark and the reader's tests: balanced over formats and conditions."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from sim.errors import RenderError
from sim.plates.conditions import CONDITIONS
from sim.plates.formats import FORMATS, random_plate
from sim.plates.scene import Frame, PlateTruth, render_car_frame

# Kazakh formats dominate, as at a Kazakh park's gate; neighbours' plates come through too
DEFAULT_MIX: Mapping[str, float] = {
    "kz_2012": 0.42,
    "kz_org": 0.14,
    "kz_1993": 0.1,
    "kz_foreign": 0.07,
    "kz_diplomatic": 0.02,
    "ru": 0.1,
    "kg": 0.05,
    "kg_org": 0.02,
    "kg_foreign": 0.01,
    "uz": 0.04,
    "uz_org": 0.02,
    "uz_moto": 0.01,
}
# formats that also come as two-row plates (motorcycles, square mounts on imported cars)
_TWO_ROW_FORMATS = ("kz_2012", "kz_org", "kz_1993")


class PlateSample(NamedTuple):
    frame: Frame
    truth: PlateTruth


def _allocate(n: int, weights: Mapping[str, float]) -> list[str]:
    """``n`` format ids in the proportions of ``weights`` (largest remainder, so counts are exact)."""
    total = sum(weights.values())
    if total <= 0 or any(w < 0 for w in weights.values()):
        raise RenderError("a dataset mix needs non-negative weights with a positive sum")
    exact = {k: n * w / total for k, w in weights.items()}
    counts = {k: int(v) for k, v in exact.items()}
    by_remainder = sorted(exact, key=lambda k: (counts[k] - exact[k], k))
    for k in by_remainder[: n - sum(counts.values())]:
        counts[k] += 1
    return [k for k in weights for _ in range(counts[k])]


def plate_dataset(
    n: int,
    rng: np.random.Generator,
    mix: Mapping[str, float] | None = None,
    conditions: Sequence[str] = CONDITIONS,
    two_row: float = 0.1,
) -> Iterator[PlateSample]:
    """``n`` rendered frames with their truth, lazily (a frame is 2.7 MB).

    Formats follow ``mix`` (format id → weight, default ``DEFAULT_MIX``) exactly up to rounding, and every
    condition in ``conditions`` gets an equal share; both are shuffled with ``rng``. A ``two_row`` share of
    the Kazakh 2012, organisation and 1993 plates are drawn in two rows.
    """
    if not 0.0 <= two_row <= 1.0:
        raise RenderError(f"two_row is a share between 0 and 1, not {two_row}")
    if n < 0:
        raise RenderError(f"a dataset cannot have {n} frames")
    weights = DEFAULT_MIX if mix is None else mix
    unknown = sorted(set(weights) - set(FORMATS))
    if unknown:
        raise RenderError(f"unknown plate formats in the mix: {unknown}; known: {sorted(FORMATS)}")
    bad = sorted(set(conditions) - set(CONDITIONS))
    if bad or not conditions:
        raise RenderError(f"unknown or no conditions {bad}; choose from {list(CONDITIONS)}")
    plates: list[tuple[str, int]] = []
    for fmt_id in weights:
        ids = [f for f in _allocate(n, weights) if f == fmt_id]
        doubled = round(len(ids) * two_row) if fmt_id in _TWO_ROW_FORMATS else 0
        plates += [(fmt_id, 2 if i < doubled else FORMATS[fmt_id].rows) for i in range(len(ids))]
    order = rng.permutation(len(plates))
    kinds = [conditions[i % len(conditions)] for i in range(n)]
    rng.shuffle(kinds)
    return _samples([plates[int(i)] for i in order], kinds, rng)


def _samples(plates: list[tuple[str, int]], kinds: list[str], rng: np.random.Generator) -> Iterator[PlateSample]:
    for (fmt_id, rows), kind in zip(plates, kinds, strict=True):
        country = FORMATS[fmt_id].country
        text, _ = random_plate(rng, country, fmt_id)
        frame, truth = render_car_frame(text, rng, country, fmt_id, kind, rows=rows)
        yield PlateSample(frame, truth)


def write_dataset(directory: Path, samples: Iterator[PlateSample] | Sequence[PlateSample]) -> int:
    """Write samples as an openalpr "endtoend" folder (``NNNNN.jpg`` + ``NNNNN.txt``: file, x, y, w, h, text).

    Returns how many were written; the folder is created if missing and must not already hold samples.
    """
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.glob("*.txt")):
        raise RenderError(f"{directory} already holds a dataset; choose an empty folder")
    count = 0
    for i, (frame, truth) in enumerate(samples):
        name = f"{i:05d}.jpg"
        if not cv2.imwrite(str(directory / name), frame, [cv2.IMWRITE_JPEG_QUALITY, 95]):
            raise RenderError(f"cannot write {directory / name}")
        x, y, w, h = truth.bbox
        (directory / f"{i:05d}.txt").write_text(f"{name}\t{x}\t{y}\t{w}\t{h}\t{truth.text}\n", encoding="utf-8")
        count += 1
    return count

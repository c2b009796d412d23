"""Training crops for the gate's plate recogniser: rendered cars cut by the gate's own localiser and crop cutter.

The recogniser learns from exactly what it will be shown: each rendered frame (every format and condition of
``plate_dataset``) goes through ``find_plates`` and ``line_crop`` as at the lane, and the crop of the candidate
that is the car's plate is labelled with the plate's characters in the order they stand on the crop (a
two-row plate: top row, then bottom row). Frames whose plate the localiser misses, or finds with the wrong
number of rows, teach nothing the lane would use and are skipped.

    python -m sim.plates.crops OUT.npz --n 20000 --seed 1000

A crop is stored ``HEIGHT`` pixels high at its own aspect (at most ``MAX_WIDTH`` wide), right-padded with its
last column as the recogniser's input is.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gate.plates.localise import equalise, find_plates, quad_iou
from gate.plates.ocr import MAX_ASPECT, fit_height, pad_right
from gate.plates.reader import line_crop
from sim.plates.conditions import CONDITIONS
from sim.plates.dataset import plate_dataset
from sim.plates.formats import FORMATS
from sim.plates.plate import text_zones
from sim.plates.scene import PlateTruth

HEIGHT = 32  # the plate recogniser's input height
MAX_WIDTH = MAX_ASPECT * HEIGHT
TWO_ROW_SHARE = 0.2  # more two-row plates than on the road: they are the hardest crops
SAME_PLATE_IOU = 0.3  # a candidate overlapping the plate's outline this much is the plate


def labelled_crops(
    n: int, rng: np.random.Generator, conditions: Sequence[str] = CONDITIONS
) -> Iterator[tuple[np.ndarray[Any, Any], str]]:
    """Up to ``n`` (gray crop, characters left to right) pairs from ``n`` rendered frames, in ``conditions``
    (a condition named twice gets twice the share)."""
    for sample in plate_dataset(n, rng, conditions=conditions, two_row=TWO_ROW_SHARE):
        labelled = labelled_crop(sample.frame, sample.truth)
        if labelled is not None:
            yield labelled


def labelled_crop(frame: np.ndarray[Any, Any], truth: PlateTruth) -> tuple[np.ndarray[Any, Any], str] | None:
    """The crop the reader would read of the truth's plate, and its characters in the order they stand on
    it; None when the localiser misses the plate or finds it with the wrong number of rows. A plate the
    localiser misses in the frame is looked for in the frame equalised, as the reader looks again there."""
    outline = np.array(truth.quad, dtype=np.float32)
    label = "".join(chars for chars, _box in text_zones(truth.text, FORMATS[truth.format], truth.rows))
    for equalised in (False, True):  # the frame equalised only when its own look misses the plate
        look = equalise(frame) if equalised else frame
        # a plate may be found in both layouts (a lone short row is also read with a guessed partner row):
        # the crop is the one in the plate's own
        layout = [c for c in find_plates(look, 3) if len(c.rows) == truth.rows]
        found = max(layout, key=lambda c: quad_iou(c.quad, outline), default=None)
        if found is not None and quad_iou(found.quad, outline) >= SAME_PLATE_IOU:
            return line_crop(look, found, cut=False), label  # as the reader crops for this recogniser
    return None


def to_input(crop: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], int]:
    """A crop scaled to ``HEIGHT`` (aspect kept, at most ``MAX_WIDTH``) on a ``HEIGHT``×``MAX_WIDTH`` canvas,
    right-padded with its last column; and its width."""
    scaled = fit_height(crop, HEIGHT)
    return pad_right(scaled, MAX_WIDTH), scaled.shape[1]


def write_crops(path: Path, n: int, seed: int, conditions: Sequence[str] = CONDITIONS) -> int:
    """Render ``n`` frames from ``seed`` and save their labelled crops to ``path`` (.npz); how many were kept."""
    images, widths, labels = [], [], []
    for crop, label in labelled_crops(n, np.random.default_rng(seed), conditions):
        image, width = to_input(crop)
        images.append(image)
        widths.append(width)
        labels.append(label)
    np.savez_compressed(
        path,
        images=np.stack(images) if images else np.empty((0, HEIGHT, MAX_WIDTH), np.uint8),
        widths=np.array(widths, dtype=np.int32),
        labels=np.array(labels, dtype=str),
    )
    return len(labels)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help=".npz file to write")
    parser.add_argument("--n", type=int, default=20000, help="frames to render")
    parser.add_argument("--seed", type=int, default=1000, help="keep clear of the benchmark's and tests' seeds")
    parser.add_argument(
        "--conditions", nargs="+", default=CONDITIONS, help="conditions to render; name one twice for twice its share"
    )
    args = parser.parse_args(argv)
    kept = write_crops(args.out, args.n, args.seed, args.conditions)
    print(f"{args.out}: {kept} crops from {args.n} frames")


if __name__ == "__main__":
    main()

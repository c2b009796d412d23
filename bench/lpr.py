"""Plate lane: a 1280×720 frame → plate text, against EasyOCR ``readtext`` on the whole frame.

Ours is ``PlateReader.read_frame`` (OpenCV localiser → the plate-trained recogniser → PP-OCRv4's recogniser →
PP-OCRv4's detector, each only when the one before read nothing surely → grammar), the trigger bypassed;
``--recogniser`` picks the first recogniser (the plate-trained one by default, or EasyOCR's). The baseline runs
EasyOCR's own detector and recogniser on the whole frame (``readtext``), normalises every text it finds and
keeps the best-fitting grammar candidate; it takes seconds a frame, so it runs on a sample (``--baseline-n``)
of the same frames, in the same run, when the ``plate-models`` extra is installed.

Data: by default the synthetic Kazakh set (``sim.plates.plate_dataset``: every format and condition),
read with the Kazakh grammar; with ``--dataset DIR`` a folder in openalpr's endtoend format (one ``.txt`` per
image: ``IMAGE X Y W H PLATE`` tab-separated), read whole in generic mode, or one half of it with ``--half``
(``half``: fixed by a hash of each file name; thresholds are chosen on ``tune``, ``measure`` is only measured).
Those photos come in many sizes: each is scaled to fit 1280×720 (aspect kept) and padded with black to exactly
1280×720, so timings are per 1280×720 frame as on the gate.

``wrong_accept_rate``: frames whose best read clears ``min_confidence`` (the reader's acceptance bar for
a vote) yet is not the plate. ``rss_mb``: this process's resident memory with the reader loaded.
``detector_share``: frames that needed PP-OCRv4's detector (no sure read of the localiser's crops).

A lane never acts on one frame: ``votes_needed`` agreeing frames accept a plate. ``lane_*`` (synthetic set
only) measure that: the first ``--lane-n`` cars are each seen in ``LANE_FRAMES`` fresh renderings of the same
plate and condition, read and voted as at the gate (``PlateVote``): accepted right (``lane_exact``), accepted
wrong (``lane_wrong_accept_rate``), or a no-read for the ranger (``lane_no_read_rate``).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import itertools
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from gate.plates import PlateOcr, PlateRead, PlateReader, PlateSettings, PlateVote
from gate.plates.export import ALLOWLIST, load_reader
from gate.plates.settings import DEFAULT_COUNTRIES, RECOGNISERS
from protocol.plates import match_plate

WIDTH, HEIGHT = 1280, 720
HALVES = ("all", "tune", "measure")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", type=Path, help="folder in openalpr endtoend format (read in generic mode)")
    # 1,000 frames: on 200 a single frame is 0.5 %, the whole wrong-accept target, so one frame decided it
    parser.add_argument("--n", type=int, default=1000, help="frames (synthetic: rendered; dataset: first N)")
    parser.add_argument("--baseline-n", type=int, default=10, help="frames the readtext baseline runs on")
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads for our reader")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--lane-n", type=int, default=60, help="synthetic cars voted over several frames")
    parser.add_argument("--recogniser", choices=RECOGNISERS, default="plates", help="our reader's OCR model")
    parser.add_argument(
        "--half", choices=HALVES, default="all", help="dataset: the tuning half, the measured half, or all (see half)"
    )
    parser.add_argument("--detector-side", type=int, default=PlateSettings.detector_side, help="detector input px")


def fit_frame(image: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """An image scaled to fit 1280×720 (aspect kept) on a black 1280×720 canvas, top-left."""
    h, w = image.shape[:2]
    scale = min(WIDTH / w, HEIGHT / h)
    resized = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    canvas[: resized.shape[0], : resized.shape[1]] = resized
    return canvas


def half(image_name: str) -> str:
    """Which half of a data set a photo is in, fixed by its file name alone: "tune" when the first byte of the
    name's SHA-256 is even, else "measure". Thresholds are chosen on the tuning half only; the measured half
    is only ever measured."""
    return "tune" if hashlib.sha256(image_name.encode()).digest()[0] % 2 == 0 else "measure"


def endtoend(folder: Path, n: int, which: str = "all") -> Iterator[tuple[np.ndarray[Any, Any], str]]:
    """Frames and plate texts of an openalpr endtoend folder, in file-name order (``which``: a half or all)."""
    taken = 0
    for label in sorted(folder.glob("*.txt")):
        fields = label.read_text().strip().split("\t")
        if len(fields) != 6:
            raise SystemExit(f"{label}: expected IMAGE X Y W H PLATE tab-separated, got {len(fields)} fields")
        if which != "all" and half(fields[0]) != which:
            continue
        if taken == n:
            return
        taken += 1
        image = cv2.imread(str(folder / fields[0]), cv2.IMREAD_COLOR)
        if image is None:
            raise SystemExit(f"{label}: cannot read image {fields[0]}")
        yield fit_frame(image), fields[5].upper()


def synthetic(n: int, seed: int) -> Iterator[tuple[np.ndarray[Any, Any], str]]:
    from sim.plates import plate_dataset

    for sample in plate_dataset(n, np.random.default_rng(seed)):
        yield sample.frame, sample.truth.text


LANE_FRAMES = 4  # frames of one standing car the lane reads before it would call the ranger


def lane_outcomes(reader: PlateReader, settings: PlateSettings, n: int, seed: int) -> Counter[str]:
    """``n`` synthetic cars, each voted over ``LANE_FRAMES`` renderings: "exact", "wrong" or "no_read"."""
    from sim.plates import plate_dataset, render_car_frame

    rng = np.random.default_rng(seed + 1)
    outcomes: Counter[str] = Counter()
    for sample in plate_dataset(n, np.random.default_rng(seed)):
        truth = sample.truth
        vote = PlateVote.from_settings(settings)
        accepted: str | None = None
        for i in range(LANE_FRAMES):
            frame = (
                sample.frame
                if i == 0
                else render_car_frame(
                    truth.text, rng, truth.country, truth.format, truth.condition.name, rows=truth.rows
                )[0]
            )
            reads = reader.read_frame(frame)
            if reads:
                match, confidence, quad = reads[0]
                result = vote.add(PlateRead(match, confidence, quad, frame), now=0.3 * i)
                if result is not None:
                    accepted = result.plate
                    break
        outcomes["no_read" if accepted is None else "exact" if accepted == truth.text else "wrong"] += 1
    return outcomes


def readtext_baseline(
    reader: Any, frame: np.ndarray[Any, Any], countries: tuple[str, ...], generic: bool
) -> str | None:
    """EasyOCR on the whole frame: every text box, alone and joined with its neighbour, through the grammar."""
    found = reader.readtext(frame, allowlist=ALLOWLIST, detail=1)
    texts = [(str(text), float(conf)) for _, text, conf in found]
    options = texts + [(a + b, min(ca, cb)) for (a, ca), (b, cb) in itertools.pairwise(texts)]
    best: tuple[float, str] | None = None
    for text, conf in options:
        match = match_plate(text, countries, generic)
        if match is not None and (best is None or conf > best[0]):
            best = (conf, match.text)
    return best[1] if best else None


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run(args: argparse.Namespace) -> dict[str, float]:
    generic = args.dataset is not None
    countries: tuple[str, ...] = () if generic else DEFAULT_COUNTRIES
    settings = PlateSettings(
        countries=countries,
        generic=generic,
        trigger="always",
        recogniser=args.recogniser,
        detector_side=args.detector_side,
    )
    reader = PlateReader(
        settings, on_result=lambda _result: None, ocr=PlateOcr(args.threads, recogniser=args.recogniser)
    )
    reader.ocr.load()
    # frames stream through one at a time (a frame is 2.7 MB): RSS then measures the reader, not the data set
    samples = endtoend(args.dataset, args.n, args.half) if generic else synthetic(args.n, args.seed)
    times: list[float] = []
    kept: list[tuple[np.ndarray[Any, Any], str]] = []
    exact = wrong = 0
    memory = 0.0
    detected_before = 0
    for index, (frame, truth) in enumerate(samples):
        if index == 0:
            reader.read_frame(frame)  # warm-up: first-call allocations are not what a lane sees
            memory = rss_mb()
            detected_before = reader.frames_detected
        if len(kept) < args.baseline_n:
            kept.append((frame, truth))
        start = time.perf_counter()
        reads = reader.read_frame(frame)
        times.append((time.perf_counter() - start) * 1000)
        if reads and reads[0][0].text == truth:
            exact += 1
        elif reads and reads[0][1] >= settings.min_confidence:
            wrong += 1

    lane = lane_outcomes(reader, settings, args.lane_n, args.seed) if not generic and args.lane_n > 0 else None

    if kept and importlib.util.find_spec("easyocr") is None:
        print("bench lpr: no EasyOCR baseline without the plate-models extra (make bench installs it)", file=sys.stderr)
        kept = []
    base_reader = load_reader(detector=True) if kept else None  # same weights, plus readtext's text detector
    base_times: list[float] = []
    base_exact = 0
    for frame, truth in kept:
        start = time.perf_counter()
        text = readtext_baseline(base_reader, frame, countries, generic)
        base_times.append((time.perf_counter() - start) * 1000)
        base_exact += text == truth
    n = float(len(times))
    p50 = statistics.median(times)
    base_p50 = statistics.median(base_times) if base_times else float("nan")
    return {
        "frames": n,
        "exact_accuracy": exact / n,
        "wrong_accept_rate": wrong / n,
        "p50_ms": p50,
        "p95_ms": float(np.percentile(times, 95)),
        "baseline_frames": float(len(base_times)),
        "baseline_exact_accuracy": base_exact / len(base_times) if base_times else float("nan"),
        "baseline_p50_ms": base_p50,
        "speedup": base_p50 / p50,
        "rss_mb": memory,
        "detector_share": (reader.frames_detected - detected_before) / n,
        **(
            {}
            if lane is None
            else {
                "lane_cars": float(args.lane_n),
                "lane_exact": lane["exact"] / args.lane_n,
                "lane_wrong_accept_rate": lane["wrong"] / args.lane_n,
                "lane_no_read_rate": lane["no_read"] / args.lane_n,
            }
        ),
    }

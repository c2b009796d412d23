"""QR lane: a 1280×720 camera frame → QR text → decide() → event committed → relay command.

Our pipeline (zxing-cpp) and the peer baseline (OpenCV's ``QRCodeDetector``) run the same frames through the
same gate controller code (``GateController.handle``: decide, store.record with fsync, relay and lights on
gpiozero's mock pins); only the decoder differs. Frames come from the simulator's renderer (phone screens and
printed pages, default difficulty), one distinct permit per frame so every decision is a fresh admission.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from bench._lane import PARK, bench_lane
from gate.controller import GateController
from gate.credentials import QrCredential
from gate.qr import decode_qr
from protocol import Permit, Reason, SigningKey, encode_token, new_permit_id
from sim.render import render_qr_frame

Decoder = Callable[[np.ndarray], list[str]]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frames", type=int, default=200, help="frames per pipeline (default 200)")
    parser.add_argument("--seed", type=int, default=7)


def opencv_decode(frame: np.ndarray) -> list[str]:
    text, _points, _ = cv2.QRCodeDetector().detectAndDecode(frame)
    return [text] if text else []


def _tokens(key: SigningKey, n: int) -> list[str]:
    now = int(time.time())
    return [
        encode_token(Permit(new_permit_id(), PARK, now - 3600, now + 86400, (1, 0, 0), now - 3600), key)
        for _ in range(n)
    ]


def _measure(decoder: Decoder, frames: list[np.ndarray], controller: GateController) -> tuple[list[float], int]:
    """Per-frame milliseconds from frame to relay command, and how many frames were admitted."""
    times, admitted = [], 0
    for frame in frames:
        start = time.perf_counter()
        texts = decoder(frame)
        decision = controller.handle(QrCredential(texts[0])) if texts else None
        times.append((time.perf_counter() - start) * 1000)
        admitted += decision is not None and decision.reason is Reason.GRANTED_UNLISTED
    return times, admitted


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def run(args: argparse.Namespace) -> dict[str, float]:
    rng = np.random.default_rng(args.seed)
    key = SigningKey.generate("bench")
    tokens = _tokens(key, 2 * args.frames)
    ours_frames = [render_qr_frame(t, rng) for t in tokens[: args.frames]]
    base_frames = [render_qr_frame(t, rng) for t in tokens[args.frames :]]
    with tempfile.TemporaryDirectory() as tmp:
        ours_ctl = bench_lane(Path(tmp) / "ours", key)
        base_ctl = bench_lane(Path(tmp) / "baseline", key)
        try:
            decode_qr(ours_frames[0])  # warm-up: first-call allocations are not what a lane sees
            opencv_decode(base_frames[0])
            ours, ours_ok = _measure(decode_qr, ours_frames, ours_ctl)
            base, base_ok = _measure(opencv_decode, base_frames, base_ctl)
        finally:
            ours_ctl.close()
            base_ctl.close()
    n = float(args.frames)
    return {
        "frames": n,
        "qr_p50_ms": statistics.median(ours),
        "qr_p99_ms": _p(ours, 99),
        "qr_admitted_rate": ours_ok / n,
        "baseline_p50_ms": statistics.median(base),
        "baseline_p99_ms": _p(base, 99),
        "baseline_admitted_rate": base_ok / n,
        "speedup": _p(base, 99) / _p(ours, 99),
    }

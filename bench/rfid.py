"""RFID lane: the last byte of an EM4100 card frame on a real pty → decision recorded and relay commanded.

A card is reported after two identical frames (cheap modules emit false frames), so each measured card
gets one complete frame first, then the second frame all but its last byte; the clock starts when that last
byte is written to the pty and stops when the gate's decision listener runs (after decide(), the event's
fsynced commit and the relay command). The frame itself takes ~15 ms on the wire at 9600 baud, which is
not counted: nothing can decide before the byte arrives.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from bench._lane import bench_lane
from gate.decision import Decision
from gate.readers.em4100 import Em4100Reader, encode_frame
from protocol import CardColumns, CardRole, GateEvent, Reason, SigningKey
from sim.readers.pty import PtyPort

FRAME_GAP_S = 0.03  # a module repeats its frame every ~65 ms; this gap is well inside one hold


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cards", type=int, default=200, help="card taps measured (default 200)")


def run(args: argparse.Namespace) -> dict[str, float]:
    uids = [bytes([0x10]) + i.to_bytes(4, "big") for i in range(1, args.cards + 1)]
    cards = CardColumns(
        uid=[u.hex().upper() for u in uids],
        holder=[f"Ranger {i}" for i in range(len(uids))],
        role=[CardRole.RANGER] * len(uids),
        valid_from=[0] * len(uids),
        valid_until=[4_000_000_000] * len(uids),
        active=[True] * len(uids),
    )
    decided = threading.Event()
    latencies: list[float] = []
    granted = 0

    with tempfile.TemporaryDirectory() as tmp, PtyPort(Path(tmp) / "ttyEM0") as port:
        reader = Em4100Reader("bench", str(port.link))
        lane = bench_lane(Path(tmp) / "gate", SigningKey.generate("bench"), readers=[reader], cards=cards)
        stamp = [0.0]

        def on_decision(decision: Decision, _event: GateEvent) -> None:
            nonlocal granted
            latencies.append((time.perf_counter() - stamp[0]) * 1000)
            granted += decision.reason is Reason.GRANTED
            decided.set()

        lane.add_listener(on_decision)
        try:
            deadline = time.monotonic() + 10
            while not reader.health().connected and time.monotonic() < deadline:
                time.sleep(0.01)
            for uid in uids:
                frame = encode_frame(uid)
                decided.clear()
                port.write(frame)
                time.sleep(FRAME_GAP_S)
                port.write(frame[:-1])
                time.sleep(FRAME_GAP_S)
                stamp[0] = time.perf_counter()
                port.write(frame[-1:])
                if not decided.wait(5.0):
                    raise RuntimeError(f"no decision for card {uid.hex()}: {reader.health()}")
        finally:
            lane.close()
    values = np.array(latencies)
    return {
        "cards": float(len(uids)),
        "granted": float(granted),
        "rfid_p50_ms": float(np.percentile(values, 50)),
        "rfid_p99_ms": float(np.percentile(values, 99)),
        "frame_on_wire_ms": 14 * 10 / 9600 * 1000,
    }

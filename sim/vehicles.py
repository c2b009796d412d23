"""Vehicles at the demo's vehicle lanes: cars driving up to a barrier whose camera reads their plate.

A vehicle lane is a real ``GateController`` with a plate reader (the real OpenCV localiser and plate
recogniser) and an inductive loop on a mock GPIO pin. A car arriving drives the loop low and stands in front of
the camera: the simulator renders its plate (``sim.plates.render_car_frame``) a few times a second until
the gate decides. What the gate may answer, and what the ranger then does, as at a real gate:

- ``permit``: a visitor's e-permit names the car's plate → ``granted`` by plate alone;
- ``pass``: a resident's annual vehicle pass → ``granted``;
- ``unknown``: a car with neither → ``unknown_plate``; the ranger takes the fee and opens by hand;
- ``mismatch``: a car with no permit of its own whose driver shows someone else's car permit QR →
  ``unknown_plate`` for the plate, then ``plate_mismatch`` for the QR; the car is turned away.

A car whose plate the reader could not agree on within its no-read time (dirt, glare) is no decision at
all: the ranger reads the plate by eye and opens by hand (a ``manual`` event with the reason). Admitted
cars leave later through the vehicle exit lane, read the same way.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gate.controller import GateController
from gate.frames import QueueFrameSource
from protocol import GateEvent
from sim.plates.formats import random_plate
from sim.plates.scene import render_car_frame
from sim.render import render_scene, sample_scene

KINDS = ("permit", "pass", "unknown", "mismatch")
# what the gate decides for each kind at the entry, in order (after a no-read: nothing, the ranger decides)
EXPECTED_ENTRY = {
    "permit": ("granted",),
    "pass": ("granted",),
    "unknown": ("unknown_plate",),
    "mismatch": ("unknown_plate", "plate_mismatch"),
}
# a park gate's camera by day and night; heavy dirt and blur are left to the benchmark
CONDITIONS = ("day", "day", "night", "frame", "glare")
FORMATS = (("KZ", "kz_2012"), ("KZ", "kz_2012"), ("KZ", "kz_org"), ("KZ", "kz_1993"), ("RU", "ru"), ("KG", "kg"))
FRAME_INTERVAL_S = 0.25  # the camera's frames of a standing car reach the reader at about this rate
VARIANTS = 3  # renderings of one car (noise, light and pose vary a little between frames)
GAP_S = 2.0  # the next car pulls up this long after the one before drove off


@dataclass
class Passage:
    """What happened to a vehicle at one lane."""

    reasons: list[str] = field(default_factory=list)  # the gate's decisions, in order
    plates_read: list[str] = field(default_factory=list)  # what the gate's plate decisions named
    manual: bool = False  # the ranger opened by hand (after a no-read, an unknown plate)
    no_read: bool = False
    wrong_admission: bool = False  # the barrier opened for a plate the car does not carry


@dataclass
class Vehicle:
    """One car of the day, its plate and what it should meet."""

    name: str
    kind: str
    plate: str
    country: str
    fmt: str
    condition: str
    party: tuple[int, int, int]
    arrive_s: float
    stay_s: float
    token: str | None = None  # mismatch: the QR its driver shows (another car's permit)
    entry: Passage = field(default_factory=Passage)
    exit: Passage | None = None

    @property
    def people(self) -> int:
        return sum(self.party)

    @property
    def passages(self) -> list[Passage]:
        return [self.entry] if self.exit is None else [self.entry, self.exit]

    @property
    def decided(self) -> bool:
        """The car's turn at the entry is over: a decision, or a no-read the ranger took."""
        return bool(self.entry.reasons) or self.entry.no_read

    @property
    def entered(self) -> bool:
        return self.entry.manual or "granted" in self.entry.reasons

    @property
    def ok(self) -> bool:
        """The gate's entry decisions were the expected ones (a no-read stands in for the plate's), and an
        admitted car got out again."""
        expected = EXPECTED_ENTRY[self.kind]
        reasons = tuple(self.entry.reasons)
        if self.entry.no_read:
            expected = ()  # the ranger reads the plate by eye: lets the car in, or turns it away
        elif self.entry.plates_read and self.entry.plates_read[0] != self.plate:
            # misread as a plate nobody listed: unknown to the gate, and the ranger sorts it out
            expected = ("unknown_plate", *expected[1:])
        entry_ok = reasons == expected
        if not self.entered:
            return entry_ok
        return entry_ok and self.exit is not None and ("granted" in self.exit.reasons or self.exit.manual)

    def describe(self) -> str:
        exit_reasons = None if self.exit is None else self.exit.reasons
        return (
            f"{self.name} ({self.kind}, {self.plate}, {self.condition}): entry {self.entry.reasons} "
            f"read {self.entry.plates_read} manual={self.entry.manual} no_read={self.entry.no_read}; "
            f"exit {exit_reasons}"
        )


def plan_vehicles(n: int, duration_s: float, rng: np.random.Generator) -> list[Vehicle]:
    """``n`` cars over the day: every kind at least once (from four cars on), permits the most."""
    kinds = [KINDS[i] for i in range(min(n, len(KINDS)))]
    weights = np.array([0.55, 0.2, 0.15, 0.1])
    kinds += [KINDS[int(k)] for k in rng.choice(len(KINDS), size=max(0, n - len(kinds)), p=weights)]
    rng.shuffle(kinds)
    vehicles = []
    plates: set[str] = set()
    for i, kind in enumerate(kinds):
        country, fmt = FORMATS[int(rng.integers(len(FORMATS)))]
        plate, _ = random_plate(rng, country, fmt)
        while plate in plates:
            plate, _ = random_plate(rng, country, fmt)
        plates.add(plate)
        vehicles.append(
            Vehicle(
                name=f"car-{i + 1}",
                kind=kind,
                plate=plate,
                country=country,
                fmt=fmt,
                condition=str(CONDITIONS[int(rng.integers(len(CONDITIONS)))]),
                # a pass counts its driver; a permit its party
                party=(1, 0, 0) if kind == "pass" else (int(rng.integers(1, 4)), int(rng.integers(0, 3)), 0),
                arrive_s=float(rng.uniform(0.05, 0.55) * duration_s),
                stay_s=float(rng.uniform(0.1, 0.25) * duration_s),
            )
        )
    return sorted(vehicles, key=lambda v: v.arrive_s)


class VehicleLane:
    """Drives one vehicle lane: its loop detector pin and its camera, and listens to its decisions.

    ``controller`` must read plates with a loop trigger on ``loop_pin`` of ``pin_factory`` (a gpiozero
    ``MockFactory``); frames go to ``source``, the controller's frame source. ``ranger_wait_s`` is how long
    a car stands without any decision before the ranger comes (the reader's no-read time and a margin).
    """

    def __init__(
        self,
        controller: GateController,
        source: QueueFrameSource,
        pin_factory: Any,
        loop_pin: int,
        rng: np.random.Generator,
        ranger_wait_s: float,
        decision_wait_s: float = 4.0,
    ) -> None:
        self.controller = controller
        self.source = source
        self.loop = pin_factory.pin(loop_pin)
        self.rng = rng
        self.ranger_wait_s = ranger_wait_s
        self.decision_wait_s = decision_wait_s
        self._answers: list[GateEvent] = []
        self._changed = threading.Condition()
        self.stray: list[str] = []  # reasons of decisions that came after the ranger opened by hand
        self.loop.drive_high()  # the detector's relay pulls the pin low only while a car is over the loop
        controller.add_listener(self._on_decision)

    def _on_decision(self, decision: Any, event: GateEvent) -> None:
        with self._changed:
            self._answers.append(event)
            self._changed.notify_all()

    def _wait_answer(self, seen: int, timeout_s: float, frames: list[np.ndarray], stop: threading.Event) -> bool:
        """Show the car's frames until a decision beyond the first ``seen`` arrives or ``timeout_s`` passes."""
        deadline = time.monotonic() + timeout_s
        i = 0
        while time.monotonic() < deadline and not stop.is_set():
            self.source.push(frames[i % len(frames)])
            i += 1
            with self._changed:
                if self._changed.wait_for(lambda: len(self._answers) > seen, FRAME_INTERVAL_S):
                    return True
        return False

    def drive(self, vehicle: Vehicle, passage: Passage, stop: threading.Event) -> None:
        """One car at the barrier: arrive, be read, be decided (or wait for the ranger), drive on."""
        frames = [
            render_car_frame(vehicle.plate, self.rng, vehicle.country, vehicle.fmt, vehicle.condition)[0]
            for _ in range(VARIANTS)
        ]
        with self._changed:
            seen = len(self._answers)
        self.loop.drive_low()
        try:
            if not self._wait_answer(seen, self.ranger_wait_s, frames, stop):
                passage.no_read = True
            seen = self._record(seen, passage, vehicle.plate)
            if vehicle.token is not None and not passage.no_read and passage.reasons == ["unknown_plate"]:
                # the driver holds a phone with a permit QR up to the camera; it is another car's permit
                phone = [render_scene(sample_scene(self.rng, "phone"), vehicle.token) for _ in range(2)]
                self._wait_answer(seen, self.decision_wait_s, phone, stop)
                seen = self._record(seen, passage, vehicle.plate)
            elif "granted" not in passage.reasons and vehicle.kind != "mismatch":
                # the ranger reads the plate off the car, checks the permit, pass or fee, and opens by hand
                why = "plate not read" if passage.no_read else "no permit or pass for the plate"
                self.controller.manual_open(
                    f"ranger checked the car: {why}", vehicle.plate, people=vehicle.people, plate=vehicle.plate
                )
                passage.manual = True
                self._wait_answer(seen, self.decision_wait_s, frames, stop)
                self._record(seen, passage, vehicle.plate, manual_only=True)
        finally:
            self.loop.drive_high()
            self.source.push(np.zeros_like(frames[0]))  # the car has gone: the lane is empty again
            stop.wait(GAP_S)

    def _record(self, seen: int, passage: Passage, plate: str, manual_only: bool = False) -> int:
        with self._changed:
            new, count = self._answers[seen:], len(self._answers)
        for event in new:
            if event.reason.value == "manual":
                continue
            if manual_only:
                self.stray.append(event.reason.value)
                continue
            passage.reasons.append(event.reason.value)
            if event.credential.value == "plate" and event.plate:
                passage.plates_read.append(event.plate)
                passage.wrong_admission |= event.granted and event.plate != plate
        return count


def vehicles_report(vehicles: list[Vehicle]) -> dict[str, Any]:
    """The vehicle lanes' part of the demo report."""
    by_kind: dict[str, dict[str, int]] = {}
    for vehicle in vehicles:
        entry = by_kind.setdefault(vehicle.kind, {"count": 0, "ok": 0})
        entry["count"] += 1
        entry["ok"] += int(vehicle.ok)
    passages = [p for v in vehicles for p in v.passages]
    plates_read = [p for passage in passages for p in passage.plates_read]
    truths = {v.plate for v in vehicles}
    return {
        "total": len(vehicles),
        "expected_ok": sum(1 for v in vehicles if v.ok),
        "by_kind": dict(sorted(by_kind.items())),
        "passages": len(passages),
        "plates_read": len(plates_read),
        "plates_read_wrong": sorted(p for p in plates_read if p not in truths),
        "wrong_admissions": [v.describe() for v in vehicles if any(p.wrong_admission for p in v.passages)],
        "no_reads": sum(1 for passage in passages if passage.no_read),
        "manual_opens": sum(1 for passage in passages if passage.manual),
        "mismatches": [v.describe() for v in vehicles if not v.ok],
    }

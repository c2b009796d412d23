"""``qaqpa-sim demo``: a whole park day against a real server and real gate controllers.

What runs: ``qaqpa-server`` as a subprocess on a temporary SQLite file; one park (and a second one for
wrong-park permits); N entry gates and one exit gate, each a real ``GateController`` in this process,
fed by a ``SimCamera`` and talking to the server through its own ``FaultyLink``. Visitors (see
``sim.visitors``) present their QR at the gates; halfway through the day one entry gate loses its
network, keeps deciding offline and uploads its events after the link is back.

Every gate also has RFID card readers on real ptys, a different protocol at each gate (see
``sim.cardholders``): residents, rangers, staff and guides, registered on the server before the day, tap
their cards in and out; an unknown card, a deactivated one and an expired one are refused; a resident who
taps again before leaving is already inside. A little after mid-day one reader is unplugged and plugged
back in; the gate's reader must find it again by itself, and a card tapped after that must be decided.

With ``vehicles`` above zero a vehicle entry lane and a vehicle exit lane read licence plates (see
``sim.vehicles``): cars on e-permits naming their plate, annual vehicle passes, unknown cars the ranger
lets in by hand, and a driver showing another car's permit.

At the end the gates' event stores are compared with the server's events one by one, and every decision
with what it should have been. The report is JSON; the exit status is 0 only if every expectation held.
"""

from __future__ import annotations

import heapq
import itertools
import json
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from gpiozero.pins.mock import MockFactory

from gate.config import GateConfig, GateSettings, PlateLaneSettings, ServerSettings
from gate.controller import GateController
from gate.frames import QueueFrameSource
from protocol import Direction, GateEvent, Reason, permit_id_bytes
from sim.camera import SimCamera
from sim.cardholders import CardHolder, LaneReader, gate_protocols, plan_cardholders, reader_fault
from sim.errors import ScenarioError, SimError
from sim.netfault import FaultyLink
from sim.server_proc import ServerApi, ServerProcess, read_server_events
from sim.vehicles import Passage, Vehicle, VehicleLane, plan_vehicles, vehicles_report
from sim.visitors import (
    Step,
    Timing,
    Visitor,
    alter_signature,
    forge_with_known_kid,
    forge_with_unknown_key,
    plan_visitors,
)

PARK, OTHER_PARK = "altyn-emel", "charyn"
EXIT_GATE = "exit"
CAR_ENTRY, CAR_EXIT = "car-entry", "car-exit"
LENT_PERMIT_PLATE = "999ZZZ02"  # the car whose permit a "mismatch" driver shows; it never comes to the gate
LOOP_PIN = 23  # the vehicle lanes' loop detector input (relay 17 and lights 27/22 are taken)
DECISION_WAIT_S = 8.0  # a presentation the gate never answered is shown again after this long
# a card that did not beep is tapped again sooner: a tap takes no time, and a reader that was just plugged
# back in drops what came before the gate reopened it (pyserial flushes the input on open)
CARD_RETRY_S = 3.0
TRIES = 3


@dataclass(frozen=True)
class DemoOptions:
    gates: int = 2
    visitors: int = 200
    cardholders: int = 24
    vehicles: int = 12  # cars at the vehicle lanes (0: no vehicle lanes, no plate reader loaded)
    duration_s: float = 120.0
    seed: int = 1
    report: Path | None = None
    work_dir: Path | None = None  # default: a temporary directory, removed at the end
    difficulty: str = "default"
    progress_s: float = 5.0
    sync_interval_s: float = 1.0


@dataclass
class Lane:
    """One gate: its controller, camera, network link, and the visitor it is answering now."""

    name: str
    direction: Direction
    link: FaultyLink
    controller: GateController
    source: QueueFrameSource
    camera: SimCamera
    pin_factory: MockFactory
    queue: list[tuple[float, int, Step]] = field(default_factory=list)
    answered: threading.Condition = field(default_factory=threading.Condition)
    readers: dict[str, LaneReader] = field(default_factory=dict)  # the lane's simulated card readers by name
    current: Step | None = None
    decisions: list[tuple[str, bool, int]] = field(default_factory=list)  # reason, granted, people
    stray: list[str] = field(default_factory=list)  # decisions while nobody was presenting
    stray_cards: list[str] = field(default_factory=list)  # "UID reason" of card decisions nobody waited for
    worker: threading.Thread | None = None

    def count_decision(self, decision: Any, event: GateEvent) -> None:
        """Gate listener of a vehicle lane (its ``VehicleLane`` answers the cars): counted for the progress."""
        with self.answered:
            self.decisions.append((event.reason.value, event.granted, event.people))

    def on_decision(self, decision: Any, event: GateEvent) -> None:
        """Gate listener (decision thread): the answer to whoever stands at the lane now."""
        with self.answered:
            self.decisions.append((event.reason.value, event.granted, event.people))
            step = self.current
            # the answer must be to what this person presented: their card, or (no card uid) their QR
            if step is None or step.answer is not None or event.card_uid != step.visitor.card_uid:
                self.stray.append(event.reason.value)
                if event.card_uid is not None:
                    self.stray_cards.append(f"{event.card_uid} {event.reason.value}")
                return
            step.answer = event.reason.value
            step.answered_at = time.monotonic()
            self.answered.notify_all()

    def counts(self) -> tuple[int, Counter[str]]:
        with self.answered:
            admitted = sum(1 for _, granted, _ in self.decisions if granted)
            denied = Counter(reason for reason, granted, _ in self.decisions if not granted)
        return admitted, denied


class Demo:
    def __init__(self, options: DemoOptions, out: TextIO = sys.stderr) -> None:
        if options.gates < 1:
            raise ScenarioError("--gates must be at least 1")
        if options.visitors < 1:
            raise ScenarioError("--visitors must be at least 1")
        if options.cardholders < 0:
            raise ScenarioError("--cardholders cannot be negative")
        if options.vehicles < 0:
            raise ScenarioError("--vehicles cannot be negative")
        if options.duration_s < 30:
            raise ScenarioError("--duration must be at least 30 seconds (the day needs room for exits)")
        self.options = options
        self.out = out
        self.rng = np.random.default_rng(options.seed)
        d = options.duration_s
        self.timing = Timing(
            duration_s=d,
            debounce_s=2.0,
            passback_s=max(8.0, min(20.0, d * 0.1)),
            cut_from_s=d * 0.35,
            cut_to_s=d * 0.6,
        )
        self.entry_names = [f"entry-{i + 1}" for i in range(options.gates)]
        self.cut_gate = self.entry_names[0]
        self.fault = reader_fault(self.entry_names, self.timing)
        self.lanes: dict[str, Lane] = {}
        self.visitors: list[Visitor] = []
        self.cardholders: list[CardHolder] = []
        self.vehicles: list[Vehicle] = []
        self.vehicle_lanes: dict[str, VehicleLane] = {}
        self.api: ServerApi | None = None
        self.server: ServerProcess | None = None
        self.kid = ""
        self.api_lock = threading.Lock()
        self._heap: list[tuple[float, int, Step]] = []
        self._heap_cv = threading.Condition()
        self._seq = itertools.count()
        self._t0 = 0.0
        self._stopping = threading.Event()
        self.cut_log: dict[str, Any] = {}
        self.fault_log: dict[str, Any] = {}
        self._stopped: set[str] = set()
        self._closed: set[str] = set()

    def log(self, message: str) -> None:
        print(f"[{time.monotonic() - self._t0:6.1f}s] {message}" if self._t0 else message, file=self.out, flush=True)

    # --- set-up --------------------------------------------------------------------------------------------

    def _setup_server(self, work: Path) -> None:
        self.log(f"starting qaqpa-server on a fresh SQLite file in {work / 'server'}")
        self.server = ServerProcess(work / "server").start()
        self.api = ServerApi(self.server.url)
        self.api.login(self.server.admin_user, self.server.admin_password)
        self.api.create_park(PARK, "Altyn-Emel National Park", capacity=100_000, daily_quota=100_000)
        self.api.create_park(OTHER_PARK, "Charyn Canyon National Park")
        keys = self.api.keys()["keys"]
        if not keys:
            raise ScenarioError("the server publishes no signing key")
        self.kid = str(keys[0]["kid"])

    def _setup_gates(self, work: Path) -> None:
        protocols = gate_protocols(self.entry_names, EXIT_GATE)
        for name in self.entry_names:
            self._add_lane(work, name, Direction.ENTRY, protocols[name])
        self._add_lane(work, EXIT_GATE, Direction.EXIT, protocols[EXIT_GATE])
        if self.options.vehicles:
            from gate.plates import PlateOcr, PlateSettings  # the OCR model loads only when the day has cars

            ocr = PlateOcr()  # one model in memory for both vehicle lanes
            for name, direction in ((CAR_ENTRY, Direction.ENTRY), (CAR_EXIT, Direction.EXIT)):
                plates = PlateLaneSettings(reader=PlateSettings(trigger="loop", loop_pin=LOOP_PIN))
                lane = self._add_lane(work, name, direction, (), plates, ocr)
                self.vehicle_lanes[name] = VehicleLane(
                    lane.controller,
                    lane.source,
                    lane.pin_factory,
                    LOOP_PIN,
                    np.random.default_rng(int(self.rng.integers(0, 2**63))),
                    ranger_wait_s=plates.reader.no_read_after_s + 3.0,
                )
        for lane in self.lanes.values():
            lane.controller.start()
            lane.camera.start()

    def _add_lane(
        self,
        work: Path,
        name: str,
        direction: Direction,
        protocols: tuple[str, ...],
        plates: PlateLaneSettings | None = None,
        ocr: Any | None = None,
    ) -> Lane:
        """A gate registered on the server, with its own network link, mock GPIO, camera and card readers."""
        assert self.api is not None and self.server is not None
        self.api.create_gate(PARK, name, name.replace("-", " ").title(), direction.value)
        token = self.api.device_token(PARK, name)
        link = FaultyLink("127.0.0.1", self.server.port).start()
        config = GateConfig(
            gate=GateSettings(
                park=PARK,
                name=name,
                direction=direction,
                data_dir=work / "gates" / name,
                passback_timeout_s=int(self.timing.passback_s),
                debounce_s=self.timing.debounce_s,
                lane="pedestrian" if plates is None else "vehicle",
            ),
            server=ServerSettings(url=link.url, device_token=token, sync_interval_s=self.options.sync_interval_s),
            plates=plates,
        )
        readers: dict[str, LaneReader] = {}
        try:
            for protocol in protocols:
                reader_rng = np.random.default_rng(int(self.rng.integers(0, 2**63)))
                lane_reader = LaneReader(name, protocol, work / "dev", reader_rng)
                readers[lane_reader.name] = lane_reader
            source = QueueFrameSource()
            # each gate has its own mock GPIO: the same relay pin number on every gate must not clash
            pin_factory = MockFactory()
            controller = GateController(
                config,
                frame_source=source,
                pin_factory=pin_factory,
                readers=[reader.gate_reader() for reader in readers.values()],
                plate_ocr=ocr,
            )
            camera_rng = np.random.default_rng(int(self.rng.integers(0, 2**63)))
            camera = SimCamera(source, camera_rng, difficulty=self.options.difficulty, name=name)
            lane = Lane(name, direction, link, controller, source, camera, pin_factory, readers=readers)
        except BaseException:
            link.close()  # not a lane yet, so _shutdown would not see it
            for reader in readers.values():
                reader.close()
            raise
        # a vehicle lane's answers go to its VehicleLane; here they are only counted
        controller.add_listener(lane.on_decision if plates is None else lane.count_decision)
        self.lanes[name] = lane
        return lane

    def _issue(self, visitor: Visitor, now: int) -> None:
        """Give a visitor the token their kind calls for."""
        assert self.api is not None
        day = 86400
        kind = visitor.kind
        if kind in ("forged_key", "forged_signature", "not_a_permit"):
            if kind == "forged_key":
                visitor.token = forge_with_unknown_key(PARK, now, self.rng)
            elif kind == "forged_signature":
                visitor.token = forge_with_known_kid(PARK, now, self.kid)
            else:
                visitor.token = f"https://tickets.example.kz/{int(self.rng.integers(0, 10**9))}"
            return
        valid_from, valid_until, park, entries = now - 3600, now + day, PARK, 0
        if kind == "expired":
            valid_from, valid_until = now - 3 * day, now - 2 * day
        elif kind == "not_yet_valid":
            valid_from, valid_until = now + 2 * day, now + 3 * day
        elif kind == "wrong_park":
            park = OTHER_PARK
        elif kind in ("reused", "already_inside"):
            entries = 1
        with self.api_lock:
            permit = self.api.issue_permit(park, valid_from, valid_until, visitor.party, entries_per_day=entries)
        visitor.permit_id = permit.id
        visitor.token = alter_signature(permit.token, self.rng) if kind == "altered" else permit.token

    def _wait(self, what: str, done: Any, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                raise ScenarioError(f"timed out after {timeout_s:.0f} s waiting for {what}")
            time.sleep(0.2)

    def _gates_list(self, permit_id: str, revoked: bool) -> bool:
        want = permit_id_bytes(permit_id)
        for lane in self.lanes.values():
            listed = lane.controller.store.lookup(want)
            if listed is None or listed.revoked != revoked:
                return False
        return True

    def _setup_visitors(self) -> None:
        now = int(time.time())
        self.visitors = plan_visitors(
            self.rng, self.options.visitors, self.entry_names, EXIT_GATE, self.cut_gate, self.timing
        )
        for visitor in self.visitors:
            if visitor.kind != "unlisted":
                self._issue(visitor, now)
        self.log(f"issued permits to {sum(v.permit_id is not None for v in self.visitors)} visitors")
        listed = [v for v in self.visitors if v.permit_id is not None and v.kind not in ("wrong_park",)]
        if listed:
            last = listed[-1].permit_id
            assert last is not None
            self._wait("every gate to sync the permits", lambda: self._gates_list(last, False), 60)
        revoked = [v for v in self.visitors if v.kind == "revoked"]
        assert self.api is not None
        for visitor in revoked:
            assert visitor.permit_id is not None
            self.api.revoke(visitor.permit_id)
        if revoked:
            last_revoked = revoked[-1].permit_id
            assert last_revoked is not None
            self._wait("every gate to sync the revocations", lambda: self._gates_list(last_revoked, True), 60)
            self.log(f"revoked {len(revoked)} permits; every gate has synced the revocations")

    def _readers_ready(self) -> bool:
        """Every simulated reader plugged in and every gate reader connected (OSDP: Secure Channel up)."""
        for lane in self.lanes.values():
            if not all(reader.online() for reader in lane.readers.values()):
                return False
            for health in lane.controller.status()["readers"]:
                if not health["connected"] or health["extra"].get("secure_channel", "active") != "active":
                    return False
        return True

    def _gates_list_card(self, uid: str, active: bool) -> bool:
        for lane in self.lanes.values():
            listed = lane.controller.store.lookup_card(uid)
            if listed is None or listed.active != active:
                return False
        return True

    def _setup_cards(self) -> None:
        """Plan the card holders, register their cards, and deactivate one after every gate has it."""
        assert self.api is not None
        self.cardholders = plan_cardholders(
            self.rng,
            self.options.cardholders,
            self.entry_names,
            EXIT_GATE,
            self.timing,
            self.fault,
            first_index=len(self.visitors),
        )
        now = int(time.time())
        day = 86400
        registered = [h for h in self.cardholders if h.role is not None]
        for holder in registered:
            assert holder.role is not None
            valid_from: int | None = None
            valid_until: int | None = None
            if holder.kind == "expired_card":
                valid_from, valid_until = now - 3 * day, now - 2 * day
            elif holder.role == "resident":
                valid_from, valid_until = now - 30 * day, now + 365 * day  # a resident's card is renewed yearly
            self.api.register_card(holder.card_uid, holder.holder, holder.role, [PARK], valid_from, valid_until)
        if not registered:
            return
        self.log(f"registered {len(registered)} RFID cards ({len(self.cardholders)} card holders)")
        last = registered[-1].card_uid
        self._wait("every gate to sync the cards", lambda: self._gates_list_card(last, True), 60)
        deactivated = [h for h in self.cardholders if h.kind == "deactivated_card"]
        for holder in deactivated:
            self.api.deactivate_card(holder.card_uid)
        if deactivated:
            last_off = deactivated[-1].card_uid
            self._wait("every gate to sync the deactivations", lambda: self._gates_list_card(last_off, False), 60)
            self.log(f"deactivated {len(deactivated)} cards; every gate has synced the deactivations")

    def _setup_vehicles(self) -> None:
        """Permits naming the cars' plates, annual passes, and the permit a driver shows in the wrong car."""
        if not self.options.vehicles:
            return
        assert self.api is not None
        self.vehicles = plan_vehicles(self.options.vehicles, self.options.duration_s, self.rng)
        now = int(time.time())
        registered: list[str] = []  # every plate a permit or pass names: the vehicle lanes must list them all
        for vehicle in self.vehicles:
            if vehicle.kind == "permit":
                self.api.issue_permit(PARK, now - 3600, now + 86400, vehicle.party, plate=vehicle.plate, category="car")
                registered.append(vehicle.plate)
            elif vehicle.kind == "pass":
                self.api.register_vehicle_pass(vehicle.plate, f"resident of {vehicle.plate}", "car", [PARK])
                registered.append(vehicle.plate)
            elif vehicle.kind == "mismatch":  # a permit for another car (a neighbour's, lent for the day)
                other = self.api.issue_permit(
                    PARK, now - 3600, now + 86400, vehicle.party, plate=LENT_PERMIT_PLATE, category="car"
                )
                vehicle.token = other.token
                registered.append(LENT_PERMIT_PLATE)

        def listed() -> bool:
            stores = [self.lanes[name].controller.store for name in self.vehicle_lanes]
            return all(store.plate_permits(p) or store.vehicle_pass(p) for store in stores for p in registered)

        self._wait("the vehicle lanes to sync the cars' permits and passes", listed, 60)
        kinds = Counter(v.kind for v in self.vehicles)
        self.log(f"{len(self.vehicles)} cars planned: {dict(sorted(kinds.items()))}")

    def _vehicle_entries(self, exits: list[tuple[float, int, Vehicle]], done: threading.Event) -> None:
        """Cars arrive at the vehicle entry lane one after another; the admitted ones queue to leave later."""
        lane = self.vehicle_lanes[CAR_ENTRY]
        for vehicle in self.vehicles:
            self._sleep_until(vehicle.arrive_s)
            if self._stopping.is_set():
                break
            lane.drive(vehicle, vehicle.entry, self._stopping)
            if vehicle.entered:
                with self._heap_cv:
                    heapq.heappush(exits, (self._elapsed() + vehicle.stay_s, next(self._seq), vehicle))
        done.set()

    def _vehicle_exits(self, exits: list[tuple[float, int, Vehicle]], entries_done: threading.Event) -> None:
        lane = self.vehicle_lanes[CAR_EXIT]
        while not self._stopping.is_set():
            with self._heap_cv:  # taken off the queue in the same step that finds it due: driven out once
                due = bool(exits) and exits[0][0] <= self._elapsed()
                vehicle = heapq.heappop(exits)[2] if due else None
                idle = not exits
            if vehicle is None:
                if idle and entries_done.is_set():
                    break
                time.sleep(0.2)
                continue
            vehicle.exit = Passage()
            lane.drive(vehicle, vehicle.exit, self._stopping)

    # --- the day -------------------------------------------------------------------------------------------

    def _schedule(self, step: Step, not_before: float) -> None:
        with self._heap_cv:
            heapq.heappush(self._heap, (max(step.at, not_before), next(self._seq), step))
            self._heap_cv.notify_all()

    def _after(self, step: Step) -> None:
        """A step was answered: schedule the visitor's next one."""
        visitor = step.visitor
        index = visitor.steps.index(step)
        if index + 1 == len(visitor.steps):
            visitor.done.set()
            return
        following = visitor.steps[index + 1]
        now = self._elapsed()
        first = visitor.steps[0].answered_at
        first_rel = (first - self._t0) if first is not None else now
        self._schedule(following, max(now + following.after_previous_s, first_rel + following.after_first_s))

    def _elapsed(self) -> float:
        return time.monotonic() - self._t0

    def _dispatcher(self) -> None:
        """Hand steps to lanes when their time has come."""
        while not self._stopping.is_set():
            with self._heap_cv:
                if not self._heap:
                    self._heap_cv.wait(0.5)
                    continue
                at, _, step = self._heap[0]
                delay = at - self._elapsed()
                if delay > 0:
                    self._heap_cv.wait(min(delay, 0.5))
                    continue
                heapq.heappop(self._heap)
            lane = self.lanes[step.gate]
            with lane.answered:
                lane.queue.append((at, next(self._seq), step))
                lane.answered.notify_all()

    def _lane_worker(self, lane: Lane) -> None:
        """One visitor at a time at a lane, as in life: present, wait for the barrier, next."""
        while not self._stopping.is_set():
            with lane.answered:
                if not lane.queue:
                    lane.answered.wait(0.5)
                    continue
                _, _, step = lane.queue.pop(0)
            while True:
                self._serve(lane, step)
                following = self._next_step(step)
                # presenting again at once (a friend with the same QR or card) happens in the same turn at the
                # lane: queued behind others it could come after the passback timeout and be admitted
                if following is None or not following.same_turn or self._stopping.wait(following.after_previous_s):
                    break
                step = following
            self._after(step)

    def _serve(self, lane: Lane, step: Step) -> None:
        with lane.answered:
            lane.current = step
        if isinstance(step.visitor, CardHolder):
            self._tap(lane, step)
        else:
            self._show_qr(lane, step)
        with lane.answered:
            if step.answer is None:
                step.answer = "no_decision"
                step.answered_at = time.monotonic()
            lane.current = None

    @staticmethod
    def _next_step(step: Step) -> Step | None:
        steps = step.visitor.steps
        index = steps.index(step)
        return steps[index + 1] if index + 1 < len(steps) else None

    def _show_qr(self, lane: Lane, step: Step) -> None:
        if step.visitor.token is None:
            self._issue(step.visitor, int(time.time()))  # unlisted: issued while this gate is offline
        assert step.visitor.token is not None
        for _ in range(TRIES):
            if Reason.GRANTED_UNLISTED.value in step.expect and not lane.link.is_cut:
                # a queue held the visitor until the network was back: the gate may have synced the permit
                step.expect = step.expect | {Reason.GRANTED.value}
            step.tries += 1
            lane.camera.present(step.visitor.token)
            if self._await_answer(lane, step, DECISION_WAIT_S):
                return

    def _await_answer(self, lane: Lane, step: Step, timeout_s: float) -> bool:
        with lane.answered:
            lane.answered.wait_for(lambda: step.answer is not None, timeout_s)
            return step.answer is not None

    def _tap(self, lane: Lane, step: Step) -> None:
        """A card holder taps their card; a dark (unplugged) reader they wait for, as people do."""
        holder = step.visitor
        assert isinstance(holder, CardHolder)
        reader = lane.readers[step.reader]
        for _ in range(TRIES):
            while not reader.plugged and not self._stopping.is_set():
                time.sleep(0.1)
            step.tries += 1
            try:
                reader.present(holder.card)
            except SimError as err:  # pulled out mid-tap: try again once it is back
                self.log(f"{reader.name}: tap of card {holder.card_uid} failed: {err}")
                self._stopping.wait(1.0)
                continue
            answered = self._await_answer(lane, step, CARD_RETRY_S)
            reader.withdraw()
            if answered:
                return

    def _reader_fault(self) -> None:
        """Pull one card reader out in the middle of the day and put it back a few seconds later."""
        fault = self.fault
        reader = self.lanes[fault.gate].readers[fault.reader]
        self._sleep_until(fault.unplug_s)
        if self._stopping.is_set():
            return
        reader.unplug()
        self.fault_log = {"gate": fault.gate, "reader": fault.reader, "protocol": reader.protocol}
        self.fault_log["unplugged_at_s"] = round(self._elapsed(), 1)
        self.log(f"card reader {fault.reader} UNPLUGGED")
        self._sleep_until(fault.replug_s)
        reader.replug()  # even when stopping: the shutdown closes what is plugged
        self.fault_log["replugged_at_s"] = round(self._elapsed(), 1)
        self.log(f"card reader {fault.reader} plugged back in; the gate must find it by itself")

    def _network_fault(self) -> None:
        lane = self.lanes[self.cut_gate]
        self._sleep_until(self.timing.cut_from_s)
        if self._stopping.is_set():
            return
        lane.link.cut()
        self.cut_log = {"gate": lane.name, "from_s": round(self._elapsed(), 1)}
        self.log(f"network of {lane.name} CUT: it decides offline now")
        self._sleep_until(self.timing.cut_to_s)
        lane.link.restore()
        self.cut_log["to_s"] = round(self._elapsed(), 1)
        self.log(f"network of {lane.name} restored: its events upload now")

    def _sleep_until(self, at: float) -> None:
        while not self._stopping.is_set() and self._elapsed() < at:
            time.sleep(min(0.2, max(0.0, at - self._elapsed())))

    def _progress(self) -> None:
        while not self._stopping.wait(self.options.progress_s):
            self.log(self._progress_line())

    def _progress_line(self) -> str:
        done = sum(v.done.is_set() for v in self.visitors)
        cards_done = sum(h.done.is_set() for h in self.cardholders)
        parts = []
        for lane in self.lanes.values():
            admitted, denied = lane.counts()
            status = lane.controller.status()
            state = "online" if status.get("online") else "OFFLINE"
            parts.append(
                f"{lane.name}: {admitted} in/{sum(denied.values())} no, {state}, outbox {status.get('outbox')}"
            )
        cars_done = sum(1 for v in self.vehicles if v.exit is not None or (v.decided and not v.entered))
        head = (
            f"visitors {done}/{len(self.visitors)}, card holders {cards_done}/{len(self.cardholders)}, "
            f"cars {cars_done}/{len(self.vehicles)}"
        )
        return head + " | " + " | ".join(parts)

    def _run_day(self) -> None:
        self._t0 = time.monotonic()
        threads = [
            threading.Thread(target=self._dispatcher, name="demo-dispatch", daemon=True),
            threading.Thread(target=self._network_fault, name="demo-netfault", daemon=True),
            threading.Thread(target=self._reader_fault, name="demo-readerfault", daemon=True),
            threading.Thread(target=self._progress, name="demo-progress", daemon=True),
        ]
        for lane in self.lanes.values():
            lane.worker = threading.Thread(
                target=self._lane_worker, args=(lane,), name=f"demo-{lane.name}", daemon=True
            )
            threads.append(lane.worker)
        if self.vehicle_lanes:
            exits: list[tuple[float, int, Vehicle]] = []
            entries_done = threading.Event()
            threads.append(
                threading.Thread(target=self._vehicle_entries, args=(exits, entries_done), name="demo-cars-in")
            )
            cars_out = threading.Thread(target=self._vehicle_exits, args=(exits, entries_done), name="demo-cars-out")
            threads.append(cars_out)
        people: list[Visitor] = [*self.visitors, *self.cardholders]
        for person in people:
            self._schedule(person.steps[0], 0.0)
        self.log(
            f"the day begins: {len(self.visitors)} visitors, {len(self.cardholders)} card holders and "
            f"{len(self.vehicles)} cars; {len(self.entry_names)} entry gates + 1 exit gate"
            f"{' + a vehicle entry and exit lane' if self.vehicle_lanes else ''}, {self.options.duration_s:.0f} s"
        )
        for thread in threads:
            thread.start()
        # the day ends when everybody is done, with room for stragglers
        deadline = self.options.duration_s * 1.5 + 60
        while self._elapsed() < deadline and not (
            all(p.done.is_set() for p in people) and not (self.vehicle_lanes and cars_out.is_alive())
        ):
            time.sleep(0.2)
        self._sleep_until(max(self.timing.cut_to_s, self.fault.replug_s))
        self._stopping.set()
        for thread in threads:
            thread.join()
        if self.lanes[self.cut_gate].link.is_cut:
            self.lanes[self.cut_gate].link.restore()
        self.log(self._progress_line())

    def _drain(self, timeout_s: float = 60.0) -> bool:
        """Wait until every gate has uploaded its outbox."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(lane.controller.status().get("outbox") == 0 for lane in self.lanes.values()):
                return True
            time.sleep(0.5)
        return False

    # --- the report ----------------------------------------------------------------------------------------

    def _report(self, drained: bool) -> dict[str, Any]:
        assert self.server is not None and self.api is not None
        # reader health as the day ends, before stopping the gates stops their readers
        reader_health = {name: lane.controller.status()["readers"] for name, lane in self.lanes.items()}
        for lane in self.lanes.values():
            self._stop_controller(lane)
            lane.link.close()
        gate_events: dict[str, list[GateEvent]] = {
            name: lane.controller.store.events() for name, lane in self.lanes.items()
        }
        start = int(time.time()) - 2 * 86400
        stats = self.api.stats(PARK, start, int(time.time()) + 3600, "hour")
        occupancy = self.api.occupancy(PARK)
        self.api.close()
        self.server.stop()
        server_events = read_server_events(self.server.db_path)

        on_server = Counter(e.id for e in server_events)
        on_gates = Counter(e.id for events in gate_events.values() for e in events)
        lost = sorted(set(on_gates) - set(on_server))
        unexpected = sorted(set(on_server) - set(on_gates))
        duplicates = sum(n - 1 for n in on_server.values() if n > 1) + sum(n - 1 for n in on_gates.values() if n > 1)
        server_by_gate = Counter(e.gate for e in server_events)

        gates = []
        for name, lane in self.lanes.items():
            events = gate_events[name]
            denied = Counter(e.reason.value for e in events if not e.granted)
            link = lane.link.stats
            gates.append(
                {
                    "name": name,
                    "direction": lane.direction.value,
                    "admitted": sum(1 for e in events if e.granted),
                    "denied": dict(sorted(denied.items())),
                    "people": sum(e.people for e in events if e.granted),
                    "events": len(events),
                    "events_on_server": server_by_gate.get(name, 0),
                    "offline_decisions": sum(1 for e in events if "offline" in e.flags),
                    "unlisted": sum(1 for e in events if "unlisted" in e.flags),
                    "stray_decisions": len(lane.stray),
                    "card_events": sum(1 for e in events if e.card_uid is not None),
                    "phantom_cards": self._phantoms(lane),
                    "network": {"cuts": link.cuts, "connections": link.accepted, "refused_while_cut": link.refused},
                    "readers": [_reader_summary(health, lane) for health in reader_health[name]],
                }
            )
        all_gate_events = [e for events in gate_events.values() for e in events]
        gate_entries = sum(e.people for e in all_gate_events if e.granted and e.direction is Direction.ENTRY)
        gate_exits = sum(e.people for e in all_gate_events if e.granted and e.direction is Direction.EXIT)
        server_entries = sum(int(p["entries"]) for p in stats["series"])
        server_exits = sum(int(p["exits"]) for p in stats["series"])

        by_kind: dict[str, dict[str, int]] = {}
        for visitor in self.visitors:
            entry = by_kind.setdefault(visitor.kind, {"count": 0, "people": 0, "ok": 0})
            entry["count"] += 1
            entry["people"] += visitor.people
            entry["ok"] += int(visitor.ok)
        mismatches = [step.describe() for v in self.visitors for step in v.steps if not step.ok]
        expected_ok = sum(1 for v in self.visitors if v.ok)
        cards = self._cards_report()
        vehicles = vehicles_report(self.vehicles)
        # decisions that came after the ranger had already opened by hand (a late plate vote)
        vehicles["late_decisions"] = [r for lane in self.vehicle_lanes.values() for r in lane.stray]
        fault = self._fault_report(reader_health)
        checks = {
            "every_visitor_as_expected": expected_ok == len(self.visitors),
            "every_card_holder_as_expected": cards["expected_ok"] == cards["total"],
            "every_car_as_expected": vehicles["expected_ok"] == vehicles["total"],
            "no_car_admitted_on_a_wrong_plate": not vehicles["wrong_admissions"],
            "no_phantom_cards": not any(self._phantoms(lane) for lane in self.lanes.values()),
            "replugged_reader_recovered": bool(fault["recovered"]),
            "outboxes_drained": drained,
            "no_lost_events": not lost,
            "no_duplicate_events": duplicates == 0,
            "no_unexpected_server_events": not unexpected,
            "server_events_equal_gate_events": len(server_events) == len(all_gate_events),
            "server_entries_equal_gate_entries": server_entries == gate_entries,
            "server_exits_equal_gate_exits": server_exits == gate_exits,
        }
        return {
            "ok": all(checks.values()),
            "checks": checks,
            "seed": self.options.seed,
            "duration_s": self.options.duration_s,
            "visitors": {
                "total": len(self.visitors),
                "people": sum(v.people for v in self.visitors),
                "expected_ok": expected_ok,
                "by_kind": dict(sorted(by_kind.items())),
                "mismatches": mismatches,
            },
            "cards": cards,
            "vehicles": vehicles,
            "reader_fault": fault,
            "gates": gates,
            "server": {
                "entries": server_entries,
                "exits": server_exits,
                "events": len(server_events),
                "card_events": sum(1 for e in server_events if e.card_uid is not None),
                "inside_now": occupancy.get("inside"),
                "entries_today": occupancy.get("entries_today"),
            },
            "gate_totals": {"entries": gate_entries, "exits": gate_exits, "events": len(all_gate_events)},
            "network_cut": self.cut_log,
            "lost_events": len(lost),
            "duplicate_events": duplicates,
            "unexpected_server_events": len(unexpected),
            "lost_event_ids": lost[:20],
        }

    def _phantoms(self, lane: Lane) -> list[str]:
        """Card decisions for a uid no card holder carries: garbage on the line read as a card.

        A late answer to a tap that was then tapped again is a stray decision too, but of a real card.
        """
        carried = {holder.card_uid for holder in self.cardholders}
        return [stray for stray in lane.stray_cards if stray.split()[0] not in carried]

    def _cards_report(self) -> dict[str, Any]:
        by_kind: dict[str, dict[str, int]] = {}
        for holder in self.cardholders:
            entry = by_kind.setdefault(holder.kind, {"count": 0, "ok": 0})
            entry["count"] += 1
            entry["ok"] += int(holder.ok)
        return {
            "total": len(self.cardholders),
            "residents": sum(holder.people for holder in self.cardholders),
            "expected_ok": sum(1 for holder in self.cardholders if holder.ok),
            "by_kind": dict(sorted(by_kind.items())),
            "mismatches": [step.describe() for h in self.cardholders for step in h.steps if not step.ok],
        }

    def _fault_report(self, reader_health: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        """Did the unplugged reader come back by itself, and was the card tapped after that decided?"""
        fault = self.fault
        health = next((h for h in reader_health[fault.gate] if h["name"] == fault.reader), None)
        after = [h for h in self.cardholders if h.kind == "after_replug"]
        reconnects = 0 if health is None else int(health["reconnects"])
        connected = health is not None and bool(health["connected"])
        replugged = "replugged_at_s" in self.fault_log
        return {
            **self.fault_log,
            "gate_reader_reconnects": reconnects,
            "connected_at_end": connected,
            "taps_after_replug": [step.describe() for h in after for step in h.steps[:1]],
            "recovered": replugged and reconnects >= 1 and connected and all(h.ok for h in after),
        }

    # --- the whole run -------------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Run the day and return the report (also written to ``options.report`` when set)."""
        with tempfile.TemporaryDirectory(prefix="qaqpa-demo-") as tmp:
            work = self.options.work_dir or Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            try:
                self._setup_server(work)
                self._setup_gates(work)
                self._wait("every gate's first sync", self._all_synced, 60)
                self._wait("every card reader to come online", self._readers_ready, 60)
                self._setup_visitors()
                self._setup_cards()
                self._setup_vehicles()
                self._run_day()
                self.log("the day is over; waiting for every gate to upload its events")
                for lane in self.lanes.values():
                    lane.camera.stop()
                drained = self._drain()
                report = self._report(drained)
            finally:
                self._stopping.set()
                self._shutdown()
        if self.options.report is not None:
            self.options.report.parent.mkdir(parents=True, exist_ok=True)
            self.options.report.write_text(json.dumps(report, indent=2) + "\n")
        return report

    def _all_synced(self) -> bool:
        return all(lane.controller.status().get("last_sync_at") for lane in self.lanes.values())

    def _stop_controller(self, lane: Lane) -> None:
        if lane.name not in self._stopped:
            self._stopped.add(lane.name)
            lane.controller.stop()

    def _close_controller(self, lane: Lane) -> None:
        self._stop_controller(lane)
        if lane.name not in self._closed:
            self._closed.add(lane.name)
            lane.controller.close()

    def _shutdown(self) -> None:
        """Stop whatever still runs (after an error); everything here is idempotent."""
        for lane in self.lanes.values():
            lane.camera.stop()
            self._close_controller(lane)
            lane.link.close()
            for reader in lane.readers.values():
                reader.close()
        if self.api is not None:
            self.api.close()
        if self.server is not None:
            self.server.stop()


def _reader_summary(health: dict[str, Any], lane: Lane) -> dict[str, Any]:
    """A gate reader's health for the report (``gate.readers.base.ReaderHealth`` as a dict)."""
    extra = health.get("extra") or {}
    summary = {key: health[key] for key in ("name", "protocol", "connected", "reconnects", "frames_ok", "frames_bad")}
    if "secure_channel" in extra:
        summary["secure_channel"] = extra["secure_channel"]
    sim = lane.readers.get(str(health["name"]))
    summary["noise_sent"] = 0 if sim is None else sim.noise_sent
    return summary


def run_demo(options: DemoOptions, out: TextIO = sys.stderr) -> dict[str, Any]:
    """Run a whole simulated day; raises SimError when it cannot be set up."""
    try:
        return Demo(options, out).run()
    except SimError:
        raise
    except OSError as err:
        raise ScenarioError(f"the demo could not run: {err}") from err

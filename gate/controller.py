"""The gate controller: camera thread → credential queue → decision thread, plus the sync loop.

    camera thread    frame source → decode_qr → debounce by text → QrCredential on the queue
                     └─ vehicle lanes: offer the frame to the plate reader (never waits for it)
    plate thread     PlateReader (gate.plates): trigger → localise → OCR → vote → PlateCredential on the queue
    reader threads   each card reader (gate.readers) → debounce by uid → CardCredential on the queue (never blocks)
    decision thread  queue → decide() (pure) → store.record (event + usage, committed) → relay/lights
                     → the card reader's own LED/buzzer → listeners
    sync thread      SyncLoop with its own store connection; the decision thread never waits on it

A plate the reader accepted is "the car at the barrier" for ``[plates] qr_window_s``: a permit QR shown
meanwhile goes to decide() with that plate, which refuses a vehicle permit of another car
(``plate_mismatch``). A vehicle that stood without the frames agreeing on a plate (a no-read) is not a
decision: nothing is recorded, the barrier stays shut, and ``status()["plates"]["last_no_read"]`` tells the
ranger, with the best crop saved under ``<data_dir>/plates/`` (the newest ``NO_READ_KEEP`` are kept). The
ranger resolves an unknown plate or a no-read with ``manual_open`` (a ``manual`` event with a reason).
Other sources put credentials on the same queue with ``submit``.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import httpx

from gate import VERSION
from gate.actuators import Actuators
from gate.clock import FLAG_CLOCK_SUSPECT, GateClock
from gate.config import GateConfig
from gate.credentials import CardCredential, Credential, ManualCredential, PlateCredential, QrCredential
from gate.decision import Decision, Policy, decide
from gate.disk import DiskGuard
from gate.errors import ConfigError, GateError, SyncError
from gate.events import FLAG_OFFLINE, make_event
from gate.frames import FrameSource, open_frame_source
from gate.housekeeping import Housekeeper
from gate.qr import Frame, decode_qr
from gate.readers.base import CardCallback, CardRead, CardReader
from gate.store import GateStore
from gate.sync import SyncClient, SyncLoop
from protocol import GateEvent
from protocol.fields import check_note
from protocol.plates import normalize_plate
from protocol.schemas import MAX_PLATE_CHARS

if TYPE_CHECKING:
    from gate.plates.reader import PlateReader, PlateResult

log = logging.getLogger(__name__)

Listener = Callable[[Decision, GateEvent], None]
FRAME_TIMEOUT_S = 0.2
QUEUE_TIMEOUT_S = 0.2
NO_READ_KEEP = 50  # no-read crops kept on disk for the ranger; older ones are deleted
PLATE_CROPS_KEEP = 16  # accepted plates' crops kept in memory for the ranger page's feed
MAX_NOTE_CHARS = 500  # GateEvent.note
MAX_MANUAL_PEOPLE = 1000  # GateEvent.people


class Debouncer:
    """The same QR text seen again within ``window_s`` is the same presentation, not a second one."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._seen: dict[str, float] = {}

    def fresh(self, text: str, now: float) -> bool:
        """Whether ``text`` seen at monotonic time ``now`` is a new presentation."""
        last = self._seen.get(text)
        self._seen[text] = now
        if len(self._seen) > 256:  # forget what is long gone so the map stays small
            self._seen = {t: at for t, at in self._seen.items() if now - at < self.window_s}
        return last is None or now - last >= self.window_s


class GateController:
    """One gate lane. ``start()`` runs its threads; ``stop()`` ends them and closes the devices."""

    def __init__(
        self,
        config: GateConfig,
        frame_source: FrameSource | None = None,
        pin_factory: Any | None = None,
        http_client: httpx.Client | None = None,
        clock: Callable[[], float] | GateClock = time.time,
        readers: Sequence[CardReader] | None = None,
        plate_ocr: Any | None = None,
    ) -> None:
        """``readers`` replaces the card readers of ``config.readers`` (the simulator and tests pass their own);
        ``plate_ocr`` (a ``gate.plates.PlateOcr``) shares one loaded OCR model between lanes.
        ``clock``: the real clock is guarded (gate.clock); another callable (the simulator's compressed day, a
        test's fixed instant) is taken as it is; pass a ``GateClock`` to guard your own."""
        self.config = config
        self.store = GateStore(config.gate.db_path)
        if isinstance(clock, GateClock):
            self.clock = clock
        else:
            self.clock = GateClock(self.store, clock, guard=clock is time.time)
        self.disk = DiskGuard(config.gate.data_dir, config.store.min_free_mb * 1024 * 1024, config.store.retention_days)
        self.policy = Policy(
            park=config.gate.park,
            direction=config.gate.direction,
            clock_skew_s=config.gate.clock_skew_s,
            passback_timeout_s=config.gate.passback_timeout_s,
            vehicle_window_s=0.0 if config.plates is None else config.plates.qr_window_s,
        )
        self._view = self.store.view(self.policy)
        self._frames = frame_source
        self._pin_factory = pin_factory
        self._actuators: Actuators | None = None
        self._sync_store = GateStore(config.gate.db_path, durable=False)  # its own connection: see gate.store
        self.sync = SyncLoop(SyncClient(config, self._sync_store, client=http_client), config.server.sync_interval_s)
        self.sync.client.on_response = self.clock.note_response
        self.sync.client.gate_status = self.health_report
        self.housekeeper = Housekeeper(self._sync_store, self.clock, self.disk)
        self.last_frame: Frame | None = None  # the camera's newest frame, for the ranger page's preview
        self._queue: queue.Queue[Credential] = queue.Queue(maxsize=64)
        self._listeners: list[Listener] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._debounce = Debouncer(config.gate.debounce_s)
        # card readers call from their own threads; one lock guards the shared card debouncer
        self._card_debounce = Debouncer(config.gate.debounce_s)
        self._card_lock = threading.Lock()
        self._readers: list[CardReader] = list(readers) if readers is not None else []
        self._readers_from_config = readers is None
        self.cards_dropped = 0
        # vehicle lanes: the plate reader is built at start(), importing gate.plates only then
        self._plate_ocr = plate_ocr
        self._plate_reader: PlateReader | None = None
        self._plate_debounce = Debouncer(config.gate.debounce_s)
        self._plate_lock = threading.Lock()
        self._recent_plate: tuple[str, float] | None = None  # (plate, monotonic time it was accepted)
        self._plate_crops: dict[str, Frame] = {}  # plate → the crop it was last accepted from
        self.last_no_read: dict[str, Any] | None = None
        self.plates_dropped = 0
        self._handle_lock = threading.Lock()  # the decision thread and manual opens decide one at a time
        self.decisions = 0
        self.frames = 0
        self.camera_error: str | None = None
        self.on_latency: Callable[[float], None] | None = None  # gate.metrics: credential taken up → relay set

    def add_listener(self, callback: Listener) -> None:
        """Call ``callback(decision, event)`` on the decision thread after each decision was recorded."""
        self._listeners.append(callback)

    def submit(self, credential: Credential) -> None:
        """Put a credential on the decision queue (readers other than the camera, manual opens, tests)."""
        self._queue.put(credential)

    def start(self) -> None:
        if self._threads:
            return
        self._stop.clear()
        self._actuators = Actuators(self.config.relay, self.config.lights, self._pin_factory)
        if self._frames is None:
            self._frames = open_frame_source(self.config.camera)
        if self._readers_from_config and not self._readers:
            self._readers = self._open_readers()
        if self.config.plates is not None and self._plate_reader is None:
            from gate.plates import PlateOcr, PlateReader  # the OCR model loads on vehicle lanes only

            # an exported EasyOCR recogniser lives on the data partition (the root is read-only)
            settings = self.config.plates.reader
            ocr = self._plate_ocr or PlateOcr(
                model_dir=self.config.gate.data_dir / "models", recogniser=settings.recogniser
            )
            self._plate_reader = PlateReader(settings, self._on_plate, ocr=ocr, pin_factory=self._pin_factory)
        if self._plate_reader is not None:
            self._plate_reader.start()  # loads the OCR model before the first car comes
        self._threads = [
            threading.Thread(target=self._camera_loop, name="gate-camera", daemon=True),
            threading.Thread(target=self._decision_loop, name="gate-decide", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        for reader in self._readers:
            reader.start(self._card_callback(reader.name))
        self.sync.start()
        self.housekeeper.start()

    def _open_readers(self) -> list[CardReader]:
        if not self.config.readers:
            return []
        # imported here: the reader drivers (pyserial, libosdp) load only on gates that have readers
        from gate.readers.factory import open_reader

        opened: list[CardReader] = []
        for settings in self.config.readers:
            try:
                opened.append(
                    open_reader(
                        name=settings.name, protocol=settings.protocol, port=settings.port, **settings.open_kwargs()
                    )
                )
            except (ValueError, TypeError) as err:
                raise ConfigError(f"reader {settings.name!r}: {err}") from err
        return opened

    def _card_callback(self, reader: str) -> CardCallback:
        def on_card(read: CardRead) -> None:
            self.offer_card(CardCredential(read.uid, reader=reader))

        return on_card

    def offer_card(self, credential: CardCredential) -> bool:
        """Queue a card read without ever blocking the reader's thread; False if debounced or dropped.

        A card held to the reader is one presentation; a full queue (the decision thread stalled) drops the
        read with a warning rather than stall the reader, and the holder taps again.
        """
        with self._card_lock:
            if not self._card_debounce.fresh(credential.uid, time.monotonic()):
                return False
        try:
            self._queue.put_nowait(credential)
        except queue.Full:
            self.cards_dropped += 1
            log.warning("decision queue full: card %s from reader %s dropped", credential.uid, credential.reader)
            return False
        return True

    # -- plates

    def _on_plate(self, result: PlateResult) -> None:
        """The plate reader's outcome for one vehicle (on the plate thread): a credential, or a no-read."""
        now = time.monotonic()
        if result.plate is None:
            self._note_no_read(result)
            return
        with self._plate_lock:
            self._recent_plate = (result.plate, now)
            if result.crop is not None:
                self._plate_crops.pop(result.plate, None)  # re-inserted as the newest
                self._plate_crops[result.plate] = result.crop
                while len(self._plate_crops) > PLATE_CROPS_KEEP:
                    del self._plate_crops[next(iter(self._plate_crops))]
            if not self._plate_debounce.fresh(result.plate, now):
                return
        try:
            self._queue.put_nowait(PlateCredential(result.plate, result.confidence, result.country))
        except queue.Full:
            self.plates_dropped += 1
            log.warning("decision queue full: plate %s dropped", result.plate)

    def _note_no_read(self, result: PlateResult) -> None:
        path: Path | None = None
        if result.crop is not None:
            folder = self.config.gate.data_dir / "plates"
            path = folder / f"no-read-{int(time.time() * 1000)}.png"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                if not cv2.imwrite(str(path), result.crop):
                    raise OSError(f"cv2 could not write {path}")
                for old in sorted(folder.glob("no-read-*.png"))[:-NO_READ_KEEP]:
                    old.unlink(missing_ok=True)
            except (OSError, cv2.error) as err:
                log.error("plate no-read crop not saved: %s", err)
                path = None
        self.last_no_read = {
            "at": self.clock.read().at,
            "crop": None if path is None else str(path),
            "votes": result.votes,
            "confidence": result.confidence,
        }
        log.info("plate no-read: the vehicle waits for the ranger (crop %s)", path)

    def plate_crop(self, plate: str) -> Frame | None:
        """The image ``plate`` was last accepted from, for the ranger page (the newest ``PLATE_CROPS_KEEP``)."""
        with self._plate_lock:
            return self._plate_crops.get(plate)

    def recent_plate(self) -> str | None:
        """The plate accepted within ``[plates] qr_window_s``: the car at the barrier, if any."""
        if self.config.plates is None:
            return None
        with self._plate_lock:
            recent = self._recent_plate
        if recent is None or time.monotonic() - recent[1] > self.config.plates.qr_window_s:
            return None
        return recent[0]

    def manual_open(
        self, reason: str, note: str | None = None, *, people: int = 0, plate: str | None = None
    ) -> Decision:
        """A ranger opens the barrier: records a ``manual`` event (reason and note as its note), then pulses the relay.

        ``reason`` is required (why the ranger opened: "paper permit checked", "ambulance"); ``people`` is
        how many went through (counted as an entry or exit of this lane); ``plate`` names the vehicle, e.g.
        one held as ``unknown_plate``. Raises GateError for a missing reason or bad counts, changing nothing.
        """
        reason = reason.strip()
        if not reason:
            raise GateError("a manual open needs the ranger's reason")
        text = reason if not note or not note.strip() else f"{reason}: {note.strip()}"
        if len(text) > MAX_NOTE_CHARS:
            raise GateError(f"a manual open's reason and note have at most {MAX_NOTE_CHARS} characters")
        try:
            check_note(text)  # GateEvent.note: a NUL or a bidi override would make an event no server takes
        except ValueError as err:
            raise GateError(f"a manual open's reason and note: {err}") from err
        if isinstance(people, bool) or not isinstance(people, int) or not 0 <= people <= MAX_MANUAL_PEOPLE:
            raise GateError(f"people is a count from 0 to {MAX_MANUAL_PEOPLE}, not {people!r}")
        if plate is not None:
            typed = plate
            plate = normalize_plate(typed)  # the form the event and the plate lists keep: "777 abe 01" is 777ABE01
            if not plate or len(plate) > MAX_PLATE_CHARS:
                raise GateError(f"{typed!r} is not a plate")
        return self.handle(ManualCredential(text, people, plate))

    def stop(self) -> None:
        """Stop reading, finish the credentials already queued, stop syncing, close devices."""
        if self._plate_reader is not None:
            self._plate_reader.stop()
        for reader in self._readers:
            reader.stop()
        self._stop.set()
        for thread in self._threads:
            thread.join(10.0)
        self._threads = []
        self.housekeeper.stop()
        self.sync.stop()
        try:
            # a gate switched off for maintenance hands over what it decided before it goes
            self.sync.client.push()
        except SyncError as err:
            log.warning("events stay in the outbox until the next start: %s", err)
        if self._frames is not None:
            self._frames.close()
        if self._actuators is not None:
            self._actuators.close()
            self._actuators = None

    def close(self) -> None:
        """Stop if running and close the store connections and the sync client."""
        self.stop()
        self.sync.client.close()
        self._sync_store.close()
        self.store.close()

    def status(self) -> dict[str, Any]:
        """Health for rangers and the simulator: online, last sync, outbox depth, cursor, counts."""
        state = self.store.sync_state()
        return {
            "gate": self.config.gate.name,
            "park": self.config.gate.park,
            "direction": self.config.gate.direction.value,
            "online": self.sync.online,
            "last_sync_at": state.last_sync_at,
            "last_error": state.last_error,
            "cursor": state.cursor,
            "outbox": self.store.outbox_depth(),
            "set_aside": self.store.set_aside_count(),
            "decisions": self.decisions,
            "frames": self.frames,
            "queued": self._queue.qsize(),
            "camera_error": self.camera_error,
            "readers": [dataclasses.asdict(reader.health()) for reader in self._readers],
            "cards_dropped": self.cards_dropped,
            "plates": self._plates_status(),
            "clock": self.clock.state(),
            "disk": dataclasses.asdict(self.disk.state()),
        }

    def health_report(self) -> dict[str, Any]:
        """What the gate tells the server of itself on every sync (``X-Gate-Status``): outbox depth, events set
        aside as refused, each reader's state word and the software version, for the managers' gate health
        (sync thread)."""
        readers = {"camera": "error" if self.camera_error else ("ok" if self.frames else "no_data")}
        for reader in self._readers:
            health = reader.health()
            # the server takes names of 1–32 characters; a name the technician left empty is the protocol's
            readers[(health.name or health.protocol)[:32]] = "ok" if health.connected else "disconnected"
        if self.config.plates is not None:
            plates = self._plate_reader
            readers["plates"] = "error" if plates is None or plates.error else "ok"
        return {
            "outbox": self._sync_store.outbox_depth(),
            "refused": self._sync_store.set_aside_count(),
            "readers": dict(list(readers.items())[:16]),
            "software": VERSION,
        }

    def _plates_status(self) -> dict[str, Any] | None:
        if self.config.plates is None:
            return None
        reader = self._plate_reader
        return {
            "running": reader is not None,
            "frames_offered": 0 if reader is None else reader.frames_offered,
            "frames_read": 0 if reader is None else reader.frames_read,
            "frames_dropped": 0 if reader is None else reader.frames_dropped,
            "results": 0 if reader is None else reader.results,
            "error": None if reader is None else reader.error,
            "recent_plate": self.recent_plate(),
            "plates_dropped": self.plates_dropped,
            "last_no_read": self.last_no_read,
        }

    # -- threads

    def _camera_loop(self) -> None:
        assert self._frames is not None
        while not self._stop.is_set():
            try:
                frame = self._frames.read(FRAME_TIMEOUT_S)
                if frame is None:
                    continue
                self.frames += 1
                self.last_frame = frame
                self.camera_error = None  # a camera that came back is healthy again on the ranger page
                if self._plate_reader is not None:
                    self._plate_reader.offer(frame)  # hands the frame over; reading happens on the plate thread
                texts = decode_qr(frame)
            except GateError as err:
                # a camera that fails keeps the lane alive for other readers; retry after a pause
                self.camera_error = str(err)
                log.error("camera: %s", err)
                self._stop.wait(1.0)
                continue
            now = time.monotonic()
            for text in texts:
                if self._debounce.fresh(text, now):
                    self._queue.put(QrCredential(text))

    def _decision_loop(self) -> None:
        # drain what is queued even after stop was asked, so no presented credential is lost
        while not (self._stop.is_set() and self._queue.empty()):
            try:
                credential = self._queue.get(timeout=QUEUE_TIMEOUT_S)
            except queue.Empty:
                continue
            try:
                self.handle(credential)
            except GateError as err:
                log.error("decision failed, barrier stays closed: %s", err)
            except Exception:
                # a bug on one credential must not end the lane: the barrier stays shut, the next one is decided
                log.exception("decision failed unexpectedly, barrier stays closed: %r", credential)

    def _show_on_reader(self, name: str, granted: bool) -> None:
        for reader in self._readers:
            if reader.name == name:
                try:
                    reader.show(granted)
                except Exception:  # a reader's LED must never keep the lane from its next decision
                    log.exception("reader %s could not show the decision", name)
                return

    def handle(self, credential: Credential) -> Decision:
        """Decide, record, then actuate — in that order — and tell the listeners. Runs on the decision thread
        (and for ``manual_open`` on the caller's: one decision at a time either way)."""
        with self._handle_lock:
            return self._handle(credential)

    def _handle(self, credential: Credential) -> Decision:
        started = time.perf_counter()
        if isinstance(credential, QrCredential) and credential.plate is None:
            plate = self.recent_plate()
            if plate is not None:  # decide() checks a vehicle permit against the car it is shown in
                credential = dataclasses.replace(credential, plate=plate)
        self._view.refresh()
        reading = self.clock.read()  # a jumped wall clock is replaced by its monotonic estimate, and flagged
        decision = decide(credential, self._view, reading.at)
        if decision.repeat:
            # the car's plate and its QR are one passage: the first of them was recorded and opened
            log.info("%s: %s", credential.kind.value, decision.detail)
            return decision
        flags = [*(() if self.sync.online else (FLAG_OFFLINE,)), *((FLAG_CLOCK_SUSPECT,) if reading.suspect else ())]
        event = make_event(decision, flags)
        self.disk.record(self.store, decision, event)  # committed before the barrier moves; full disk: stays shut
        if self._actuators is not None:
            self._actuators.show(decision)
        if self.on_latency is not None:
            self.on_latency(time.perf_counter() - started)
        if isinstance(credential, CardCredential) and credential.reader is not None:
            self._show_on_reader(credential.reader, decision.granted)
        self.decisions += 1
        # logged after the relay moved, with the event id: the crash test holds the store to every id logged
        log.info(
            "event %s %s %s %s %s people=%d %s",
            event.id,
            event.direction.value,
            event.reason.value,
            event.permit_id,
            event.plate or "",
            event.people,
            decision.detail,
        )
        for listener in self._listeners:
            try:
                listener(decision, event)
            except Exception:
                log.exception("decision listener %r failed", listener)
        return decision

"""The card-reader interface, and the serial plumbing every serial reader shares.

    port bytes ──▶ parser (pure: bytes in, card uids out) ──▶ on_card(CardRead) ──▶ controller queue

A reader runs on its own thread, opens its port with pyserial (``serial.serial_for_url``, so a real device,
a pty of the simulator or ``loop://`` all work), and reopens it by itself when it disappears (a USB adapter
pulled out). Nothing in a reader can stall the gate: it only calls ``on_card``, which must return at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import serial

from gate.errors import GateError

log = logging.getLogger(__name__)

REOPEN_DELAY_S = 1.0
READ_TIMEOUT_S = 0.05


class ReaderError(GateError):
    """A card reader that cannot be built as asked (unknown protocol, bad option)."""


@dataclass(frozen=True)
class CardRead:
    uid: str  # protocol.normalize_uid form
    protocol: str  # "em4100" | "pn532" | "ascii" | "osdp"
    raw: bytes = b""  # the frame as it came off the wire, for diagnostics (qaqpa-tools serial sniff --raw)


@dataclass
class ReaderHealth:
    name: str
    protocol: str
    port: str
    connected: bool = False
    last_read_at: float | None = None  # unix seconds of the last card
    last_error: str | None = None
    reconnects: int = 0
    frames_ok: int = 0
    frames_bad: int = 0  # garbled or checksum-failed frames seen
    extra: dict[str, Any] = field(default_factory=dict)  # protocol specifics (OSDP: tamper, secure channel)


CardCallback = Callable[[CardRead], None]


class CardReader(Protocol):
    """What the controller needs of any card reader."""

    name: str

    def start(self, on_card: CardCallback) -> None: ...

    def stop(self) -> None: ...

    def health(self) -> ReaderHealth: ...

    def show(self, granted: bool) -> None:
        """Show the gate's decision on the reader itself (LED, buzzer), where it has them."""


class SerialCardReader:
    """A reader on a serial port: reopen loop, health, thread. Subclasses implement ``session``."""

    protocol = "serial"

    def __init__(self, name: str, port: str, baudrate: int) -> None:
        self.name = name
        self.port = port
        self.baudrate = baudrate
        self._health = ReaderHealth(name, self.protocol, port)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_card: CardCallback | None = None

    # -- for the controller

    def start(self, on_card: CardCallback) -> None:
        self._on_card = on_card
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"reader-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    def health(self) -> ReaderHealth:
        with self._lock:
            return ReaderHealth(**{**self._health.__dict__, "extra": dict(self._health.extra)})

    def show(self, granted: bool) -> None:
        """Plain serial readers have no feedback channel."""

    # -- for subclasses

    def open_port(self) -> serial.SerialBase:
        return serial.serial_for_url(self.port, baudrate=self.baudrate, timeout=READ_TIMEOUT_S)

    def session(self, port: serial.SerialBase) -> None:
        """Talk to the open port until ``self.stopping`` or a SerialException; report cards with ``card``."""
        raise NotImplementedError

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def card(self, read: CardRead) -> None:
        with self._lock:
            self._health.last_read_at = time.time()
            self._health.frames_ok += 1
        if self._on_card is not None:
            self._on_card(read)

    def bad_frame(self, why: str) -> None:
        with self._lock:
            self._health.frames_bad += 1
        log.debug("reader %s: bad frame: %s", self.name, why)

    def _set(self, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._health, key, value)

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                port = self.open_port()
            except (serial.SerialException, OSError) as err:
                self._set(connected=False, last_error=f"cannot open {self.port}: {err}")
                self._stop.wait(REOPEN_DELAY_S)
                continue
            with self._lock:
                self._health.connected = True
                self._health.last_error = None
                if not first:
                    self._health.reconnects += 1
            first = False
            log.info("reader %s: %s open", self.name, self.port)
            try:
                self.session(port)
            except (serial.SerialException, OSError) as err:
                self._set(connected=False, last_error=f"{self.port}: {err}")
                log.warning("reader %s: lost %s: %s", self.name, self.port, err)
            except Exception as err:
                # a driver bug must not silently end the reader while its health still says connected:
                # report it and start over with a fresh session
                self._set(connected=False, last_error=f"{self.port}: reader failed: {err!r}")
                log.exception("reader %s: session failed; reopening %s", self.name, self.port)
            finally:
                port.close()
            self._set(connected=False)
            self._stop.wait(REOPEN_DELAY_S)

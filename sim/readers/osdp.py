"""A simulated OSDP reader: libosdp's Peripheral Device on the far end of a real pty.

    OsdpReader (gate, libosdp CP) ──▶ link (stable symlink) ──▶ /dev/pts/N ◀──▶ pty master ◀──▶ libosdp PD (here)

The gate talks to it exactly as to a reader on an RS-485 adapter; the protocol on this side is libosdp's own
PD implementation, not ours, so the test exercises the real handshake, Secure Channel and command encoding.
The simulator (or a test) taps cards, sets the tamper switch, reads back the LED and buzzer commands the gate
sent, and can pull the "USB adapter" out and put it back: ``unplug`` removes the link and closes the pty,
``replug`` makes a new pty and points the same link at it.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

import osdp
import osdp_sys

from sim.errors import SimError
from sim.readers.pty import PortError, PtyPort

log = logging.getLogger(__name__)

REFRESH_S = 0.01
SCBK_LEN = 16
LIBOSDP_LOG_LEVEL = osdp.LogLevel.Warning  # process-wide in libosdp; the gate side sets the same


class OsdpSimError(SimError):
    """The simulated OSDP reader was misused (bad card, bad key, not plugged in)."""


class _PtyChannel:
    """libosdp's byte channel (read/write/flush, the duck type of ``osdp.Channel``) over the pty's device end.

    Called from C inside ``refresh``: nothing may raise out of it, so a port error reads as a quiet line.
    """

    def __init__(self, port: PtyPort) -> None:
        self.port = port
        self._pending = bytearray()  # PtyPort.read hands over up to 4 KiB; libosdp may ask for less

    def read(self, max_bytes: int) -> bytes:
        if not self._pending:
            try:
                self._pending += self.port.read(0.0)
            except (OSError, PortError):
                return b""
        data = bytes(self._pending[:max_bytes])
        del self._pending[:max_bytes]
        return data

    def write(self, buf: bytes) -> int:
        try:
            return self.port.write(buf)
        except (OSError, PortError):
            return -1

    def flush(self) -> None:
        """A pty master has nothing to flush on this side."""


class SimOsdpReader:
    """An OSDP card reader (PD) at ``address`` whose serial port appears at ``link``."""

    def __init__(self, link: str | os.PathLike[str], address: int = 0, scbk: bytes | None = None) -> None:
        if not 0 <= address <= 126:
            raise OsdpSimError(f"OSDP address must be 0..126, not {address}")
        if scbk is not None and len(scbk) != SCBK_LEN:
            raise OsdpSimError(f"the secure channel key must be {SCBK_LEN} bytes")
        self.link = Path(link)
        self.address = address
        self._scbk = scbk
        self._ctx: Any = None  # osdp_sys.PeripheralDevice while plugged in
        self._port: PtyPort | None = None
        self._pd_lock = threading.Lock()  # libosdp's context is not thread-safe: refresh vs submit_event
        self._commands_lock = threading.Lock()
        self._commands: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- plugging

    @property
    def plugged(self) -> bool:
        """The adapter is in: the link points at a live pty."""
        return self._port is not None

    @property
    def powered(self) -> bool:
        """The reader is running (a PD is on the line)."""
        return self._ctx is not None

    def plug(self) -> None:
        """Make a fresh pty, point ``link`` at it, and power the reader up on it."""
        if self._port is not None:
            raise OsdpSimError(f"{self.link} is already plugged in")
        self._port = PtyPort(self.link)
        self.power_on()
        log.info("sim OSDP reader %d plugged in at %s → %s", self.address, self.link, self._port.device)

    def unplug(self) -> None:
        """Pull the adapter out: the link goes away and the gate's open port hangs up."""
        self.power_off()
        if self._port is not None:
            self._port.unplug()
            self._port = None

    def power_on(self) -> None:
        """Start a fresh PD (no session, no secure channel yet) on the plugged-in line."""
        if self._port is None:
            raise OsdpSimError(f"reader at {self.link} is unplugged")
        if self.powered:
            raise OsdpSimError(f"reader at {self.link} is already powered")
        caps = [
            (osdp.Capability.CardDataFormat, 1, 1),
            (osdp.Capability.LEDControl, 1, 1),
            (osdp.Capability.AudibleControl, 1, 1),
            (osdp.Capability.CommunicationSecurity, 1 if self._scbk else 0, 1),
        ]
        info = osdp.PDInfo(self.address, _PtyChannel(self._port), scbk=self._scbk, name=f"sim-pd-{self.address}")
        osdp_sys.set_loglevel(LIBOSDP_LOG_LEVEL)
        ctx = osdp_sys.PeripheralDevice(info.get(), capabilities=osdp.PDCapabilities(caps).get())
        ctx.set_command_callback(self._command)
        with self._pd_lock:
            self._ctx = ctx
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"sim-osdp-{self.address}", daemon=True)
        self._thread.start()

    def power_off(self) -> None:
        """Cut the reader's power but leave the adapter and cable: the line goes quiet, the port stays."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        with self._pd_lock:
            self._ctx = None

    def replug(self) -> None:
        """Unplug (if plugged) and plug back in on a new pty under the same link."""
        if self._port is not None:
            self.unplug()
        self.plug()

    def close(self) -> None:
        if self._port is not None:
            self.unplug()

    def __enter__(self) -> SimOsdpReader:
        self.plug()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- what a person does at the reader

    def tap(self, card: bytes, bits: int | None = None) -> None:
        """Present a card: a raw Wiegand read of ``bits`` bits (default: all of ``card``), MSB first."""
        if not card or len(card) > 16:
            raise OsdpSimError("a card is 1 to 16 bytes")
        length = 8 * len(card) if bits is None else bits
        if not 8 * (len(card) - 1) < length <= 8 * len(card):
            raise OsdpSimError(f"{length} bits do not fit {len(card)} bytes")
        self._submit(
            {
                "event": osdp.Event.CardRead,
                "reader_no": 0,
                "format": osdp.CardFormat.Wiegand,
                "direction": 0,
                "length": length,
                "data": card,
            }
        )

    def set_tamper(self, tamper: bool) -> None:
        """Open (True) or close the reader's tamper switch; the PD reports its local status."""
        self._submit(
            {
                "event": osdp.Event.Status,
                "type": osdp.StatusReportType.Local,
                "nr_entries": 2,
                "report": bytes([tamper, 0]),
            }
        )

    # -- what the gate did to it

    @property
    def online(self) -> bool:
        with self._pd_lock:
            return self._ctx is not None and bool(self._ctx.is_online())

    @property
    def sc_active(self) -> bool:
        with self._pd_lock:
            return self._ctx is not None and bool(self._ctx.is_sc_active())

    def commands(self) -> list[dict[str, Any]]:
        """Every command the gate sent (libosdp's dicts: ``command``, ``on_color``, ``rep_count``, …)."""
        with self._commands_lock:
            return list(self._commands)

    def leds(self) -> list[dict[str, Any]]:
        return [c for c in self.commands() if c.get("command") == osdp.Command.LED]

    def buzzers(self) -> list[dict[str, Any]]:
        return [c for c in self.commands() if c.get("command") == osdp.Command.Buzzer]

    # -- internals

    def _submit(self, event: dict[str, Any]) -> None:
        with self._pd_lock:
            if self._ctx is None:
                raise OsdpSimError(f"reader at {self.link} is unplugged or powered off")
            if not self._ctx.submit_event(event):
                raise OsdpSimError(f"libosdp refused the event {event.get('event')}")

    def _command(self, command: dict[str, Any]) -> tuple[int, None]:
        with self._commands_lock:
            self._commands.append(command)
        return 0, None

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._pd_lock:
                ctx = self._ctx
                if ctx is not None:
                    ctx.refresh()
            self._stop.wait(REFRESH_S)

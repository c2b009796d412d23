"""OSDP readers (IEC 60839-11-5) on RS-485, through libosdp's Control Panel.

    port ◀──▶ _SerialChannel ◀──▶ libosdp ControlPanel (refresh on the reader's thread)
                                      ├─ card read (raw / Wiegand bits) ──▶ on_card(CardRead)
                                      ├─ PD online/offline, secure channel ──▶ health
                                      └─ local status (tamper) ──▶ health.extra["tamper"]
    show(granted) ──▶ queue ──▶ LED + buzzer commands, submitted on the same thread

On the Pi the bus is a USB-RS485 adapter, which handles the half-duplex direction switching itself, so to
us it is a plain serial port. One reader thread owns the port and the libosdp context: it runs libosdp's
``refresh`` every few milliseconds, submits the LED/buzzer commands that ``show`` queued, and rebuilds
everything when the port disappears. We drive the binding's ``osdp_sys.ControlPanel`` directly rather than
the ``osdp.ControlPanel`` wrapper because the wrapper starts its own non-daemon thread (a stuck gate could not
exit) and keeps every event in a queue nobody drains (unbounded growth over months of uptime).

libosdp 3.2.9 drops card reads in ASCII format, so readers must be configured for raw/Wiegand output; the
uid is the hex of the card bits as the reader packs them (MSB first, padded to whole bytes).
"""

from __future__ import annotations

import logging
import queue
import termios
import threading
import time
from typing import Any

import osdp
import osdp_sys
import serial

from gate.readers.base import REOPEN_DELAY_S, CardCallback, CardRead, ReaderError, ReaderHealth
from protocol.cards import MAX_UID_BYTES, uid_from_bytes

log = logging.getLogger(__name__)

BAUDRATES = (9600, 19200, 38400, 57600, 115200, 230400)
MAX_ADDRESS = 126  # 0x7F is the broadcast address
SCBK_LEN = 16
REFRESH_S = 0.01  # libosdp's own loop sleeps 20 ms; half that keeps card → decision latency down
OFFLINE_RETRY_S = 3.0  # a reader offline this long gets a fresh libosdp context (libosdp itself waits 300 s)
SC_RETRY_S = 30.0  # the same after a failed Secure Channel handshake
PROBE_S = 0.25  # how often an idle port is checked for a hang-up (USB adapter pulled out)
SHOW_S = 1.0  # how long the LED shows the decision
LIBOSDP_LOG_LEVEL = osdp.LogLevel.Warning  # process-wide in libosdp; errors (failed secure channel) still show

# health.extra["secure_channel"]
SC_OFF = "off"  # no key configured: plaintext (refused by most installers, allowed for bench set-ups)
SC_PENDING = "pending"  # waiting for the handshake
SC_ACTIVE = "active"
SC_INSTALL_KEY = "install_key"  # active, but with the well-known default key SCBK-D
SC_FAILED = "failed"  # the reader refused our key (or we its cryptogram): no cards until fixed
SC_LOST = "lost"  # was active, then dropped (reader went offline)

_STOP = object()
# termios.error is not an OSError: pyserial lets it through from tcflush on a hung-up port
_PORT_ERRORS = (serial.SerialException, OSError, termios.error)


class _SerialChannel:
    """libosdp's byte channel (read/write/flush, the duck type of ``osdp.Channel``) over a pyserial port.

    These methods are called from C inside ``refresh``; an exception escaping one is left pending in the
    interpreter and surfaces later at a random point (we saw it leak a held lock). So every failure is caught
    here and remembered as ``lost``; the reader thread then closes the port and opens it again.
    """

    def __init__(self, port: serial.SerialBase) -> None:
        self.port = port
        self.lost: str | None = None

    def _fail(self, what: str, err: BaseException) -> None:
        if self.lost is None:
            self.lost = f"{what} failed: {err}"

    def read(self, max_bytes: int) -> bytes:
        if self.lost is None:
            try:
                data: bytes = self.port.read(max_bytes)
                return data
            except _PORT_ERRORS as err:
                self._fail("read", err)
            except Exception as err:  # must not reach libosdp's C code (class docstring)
                log.exception("OSDP channel read")
                self._fail("read", err)
        return b""

    def write(self, buf: bytes) -> int:
        if self.lost is None:
            try:
                written: int | None = self.port.write(buf)
                return len(buf) if written is None else written
            except _PORT_ERRORS as err:
                self._fail("write", err)
            except Exception as err:  # must not reach libosdp's C code (class docstring)
                log.exception("OSDP channel write")
                self._fail("write", err)
        return -1

    def flush(self) -> None:
        if self.lost is None:
            try:
                self.port.reset_input_buffer()
            except _PORT_ERRORS as err:
                self._fail("flush", err)
            except Exception as err:  # must not reach libosdp's C code (class docstring)
                log.exception("OSDP channel flush")
                self._fail("flush", err)

    def probe(self) -> None:
        """Notice a port that hung up even while libosdp is not using it (it rests after a failed send)."""
        if self.lost is None:
            try:
                _ = self.port.in_waiting
            except _PORT_ERRORS as err:
                self._fail("port check", err)


def led_command(granted: bool) -> dict[str, Any]:
    """A temporary LED state: green (granted) or red (refused) for ``SHOW_S``, then back to the idle colour."""
    tenths = round(SHOW_S * 10)
    return {
        "command": osdp.Command.LED,
        "reader": 0,
        "led_number": 0,
        "temporary": True,
        "control_code": 2,  # set the temporary state and start its timer now
        "on_color": osdp.CommandLEDColor.Green if granted else osdp.CommandLEDColor.Red,
        "off_color": osdp.CommandLEDColor.Black,
        "on_count": tenths,
        "off_count": 0,
        "timer_count": tenths,
    }


def buzzer_command(granted: bool) -> dict[str, Any]:
    """One short beep for granted, two for refused (units of 100 ms)."""
    return {
        "command": osdp.Command.Buzzer,
        "reader": 0,
        "control_code": 2,  # default tone
        "on_count": 2 if granted else 1,
        "off_count": 1,
        "rep_count": 1 if granted else 2,
    }


def card_uid(event: dict[str, Any]) -> tuple[str, bytes]:
    """The uid and raw bytes of a libosdp card-read event; ReaderError for a format we cannot use."""
    fmt = event.get("format")
    data = event.get("data")
    if fmt not in (osdp.CardFormat.Wiegand, osdp.CardFormat.Unspecified):
        raise ReaderError(f"card read in format {fmt!r}: configure the reader for raw/Wiegand output")
    if not isinstance(data, bytes) or not data:
        raise ReaderError("card read without data")
    if len(data) > MAX_UID_BYTES:
        raise ReaderError(f"card read of {len(data)} bytes; at most {MAX_UID_BYTES} make a uid")
    return uid_from_bytes(data), data


def parse_scbk(name: str, scbk: bytes | str | None) -> bytes | None:
    """A Secure Channel base key as bytes: 16 bytes, or 32 hex digits (how gate.toml holds it)."""
    if isinstance(scbk, str):
        try:
            scbk = bytes.fromhex(scbk)
        except ValueError as err:
            raise ReaderError(f"reader {name}: the secure channel key (scbk) is not hex") from err
    if scbk is not None and (not isinstance(scbk, bytes) or len(scbk) != SCBK_LEN):
        raise ReaderError(f"reader {name}: the secure channel key (scbk) must be {SCBK_LEN} bytes")
    return scbk


class OsdpReader:
    """One OSDP reader (a PD at ``address``) on a serial port, with Secure Channel when ``scbk`` is given."""

    protocol = "osdp"

    def __init__(
        self, name: str, port: str, address: int = 0, scbk: bytes | str | None = None, baudrate: int = 9600
    ) -> None:
        if not 0 <= address <= MAX_ADDRESS:
            raise ReaderError(f"reader {name}: OSDP address must be 0..{MAX_ADDRESS}, not {address}")
        key = parse_scbk(name, scbk)
        if baudrate not in BAUDRATES:
            raise ReaderError(f"reader {name}: OSDP baud rate must be one of {BAUDRATES}, not {baudrate}")
        self.name = name
        self.port = port
        self.address = address
        self.baudrate = baudrate
        self._scbk = key
        self._health = ReaderHealth(name, self.protocol, port)
        self._health.extra.update(
            address=address, tamper=False, secure_channel=SC_PENDING if key else SC_OFF, port_open=False
        )
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._requests: queue.SimpleQueue[tuple[bool, float] | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._on_card: CardCallback | None = None

    # -- CardReader

    def start(self, on_card: CardCallback) -> None:
        """Start the reader thread; cards go to ``on_card``, which must return at once."""
        if self._thread is not None:
            raise ReaderError(f"reader {self.name} is already running")
        self._on_card = on_card
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"reader-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._requests.put(_STOP)
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    def health(self) -> ReaderHealth:
        with self._lock:
            return ReaderHealth(**{**self._health.__dict__, "extra": dict(self._health.extra)})

    def show(self, granted: bool) -> None:
        """Queue the decision for the reader's LED and buzzer; returns at once (the reader thread sends it)."""
        self._requests.put((bool(granted), time.monotonic()))

    # -- the reader thread

    def _set(self, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._health, key, value)

    def _set_extra(self, **changes: Any) -> None:
        with self._lock:
            self._health.extra.update(changes)

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                port = serial.serial_for_url(self.port, baudrate=self.baudrate, timeout=0, write_timeout=0.5)
            except (serial.SerialException, OSError) as err:
                self._set(connected=False, last_error=f"cannot open {self.port}: {err}")
                self._stop.wait(REOPEN_DELAY_S)
                continue
            with self._lock:
                self._health.last_error = None
                self._health.extra["port_open"] = True
                if not first:
                    self._health.reconnects += 1
            first = False
            log.info("reader %s: %s open, OSDP address %d", self.name, self.port, self.address)
            try:
                self._session(port)
            finally:
                port.close()
                with self._lock:
                    self._health.connected = False
                    self._health.extra["port_open"] = False
                    if self._health.extra["secure_channel"] in (SC_ACTIVE, SC_INSTALL_KEY):
                        self._health.extra["secure_channel"] = SC_LOST
            self._stop.wait(REOPEN_DELAY_S)

    def _session(self, port: serial.SerialBase) -> None:
        """Run libosdp Control Panels on the open port until stopped or the port is lost.

        libosdp rests for 300 s after a reader stops answering before it tries again; a gate wants a reader
        that rebooted (power cut, cable reseated) back in seconds. So a context whose reader stays offline
        for ``OFFLINE_RETRY_S`` is replaced by a fresh one on the same port (after a failed handshake only
        every ``SC_RETRY_S``: retrying will not fix a wrong key, it only fills the log).
        """
        channel = _SerialChannel(port)
        while not self._stop.is_set() and channel.lost is None:
            self._run_context(channel)
        if channel.lost is not None:
            self._set(connected=False, last_error=f"{self.port}: {channel.lost}")
            log.warning("reader %s: lost %s: %s", self.name, self.port, channel.lost)

    def _run_context(self, channel: _SerialChannel) -> None:
        """One libosdp Control Panel: refresh it, send queued decisions; return when stopped, lost or idle."""
        flags = [osdp.LibFlag.EnableNotification]
        if self._scbk is not None:
            # Without EnforceSecure libosdp falls back to plaintext when the handshake fails: a wrong key
            # would then still read cards, which is exactly what a per-reader key is meant to prevent.
            flags.append(osdp.LibFlag.EnforceSecure)
        info = osdp.PDInfo(self.address, channel, scbk=self._scbk, name=self.name, flags=flags)
        osdp_sys.set_loglevel(LIBOSDP_LOG_LEVEL)
        ctx = osdp_sys.ControlPanel([info.get()])
        ctx.set_event_callback(self._event)
        channel.flush()  # whatever the last context left half-read
        with self._lock:
            self._health.connected = False
            if self._scbk is not None and self._health.extra["secure_channel"] != SC_FAILED:
                self._health.extra["secure_channel"] = SC_PENDING
        next_probe = last_online = time.monotonic()
        while not self._stop.is_set():
            ctx.refresh()
            now = time.monotonic()
            if now >= next_probe:
                channel.probe()
                next_probe = now + PROBE_S
            if channel.lost is not None:
                return
            with self._lock:
                online = self._health.connected
                failed = self._health.extra["secure_channel"] == SC_FAILED
            if online:
                last_online = now
            elif now - last_online > (SC_RETRY_S if failed else OFFLINE_RETRY_S):
                log.info("reader %s: no OSDP reader online at address %d; starting over", self.name, self.address)
                return
            try:
                request = self._requests.get(timeout=REFRESH_S)
            except queue.Empty:
                continue
            if not isinstance(request, tuple):  # _STOP
                return
            granted, at = request
            if time.monotonic() - at > SHOW_S:
                continue  # queued while the reader was away: the person has long gone
            for command in (led_command(granted), buzzer_command(granted)):
                if not ctx.submit_command(0, command):
                    log.info("reader %s: offline, decision not shown on the reader", self.name)
                    break

    def _event(self, pd: int, event: dict[str, Any]) -> int:
        """libosdp's event callback (runs inside ``refresh`` on the reader thread). Must not raise."""
        try:
            self._dispatch(event)
        except Exception:  # must not reach libosdp's C code (see _SerialChannel)
            log.exception("reader %s: OSDP event %r", self.name, event)
            return -1
        return 0

    def _dispatch(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == osdp.Event.CardRead:
            self._card(event)
        elif kind == osdp.Event.Status:
            if event.get("type") == osdp.StatusReportType.Local:
                report = event.get("report") or b"\x00"
                tamper = bool(report[0])
                self._set_extra(tamper=tamper, power_failure=len(report) > 1 and bool(report[1]))
                if tamper:
                    log.warning("reader %s: tamper", self.name)
        elif kind == osdp.Event.Notification:
            self._notification(event)

    def _card(self, event: dict[str, Any]) -> None:
        try:
            uid, data = card_uid(event)
        except ReaderError as err:
            with self._lock:
                self._health.frames_bad += 1
            log.warning("reader %s: %s", self.name, err)
            return
        with self._lock:
            self._health.last_read_at = time.time()
            self._health.frames_ok += 1
        if self._on_card is not None:
            self._on_card(CardRead(uid=uid, protocol=self.protocol, raw=data))

    def _notification(self, event: dict[str, Any]) -> None:
        kind, arg0, arg1 = event.get("type"), event.get("arg0"), event.get("arg1")
        if kind == osdp.EventNotification.PeripheralDeviceStatus:
            online = bool(arg0)
            with self._lock:
                self._health.connected = online
                if online:
                    self._health.last_error = None
                elif self._health.extra["secure_channel"] == SC_FAILED:
                    self._health.last_error = "secure channel failed: the reader does not share our key"
                else:
                    self._health.last_error = f"reader at OSDP address {self.address} does not answer"
            log.info("reader %s: %s", self.name, "online" if online else "offline")
        elif kind == osdp.EventNotification.SecureChannelStatus:
            # libosdp reaches the handshake only after the reader answered ID and CAP, so a handshake that
            # ends without a secure channel means the reader is there but does not share our key.
            with self._lock:
                before = self._health.extra["secure_channel"]
                if arg0:
                    state = SC_INSTALL_KEY if arg1 else SC_ACTIVE
                elif self._scbk is None:
                    state = SC_OFF
                else:
                    state = SC_LOST if before in (SC_ACTIVE, SC_INSTALL_KEY) else SC_FAILED
                self._health.extra["secure_channel"] = state
            if state == SC_FAILED:
                log.error("reader %s: secure channel handshake failed (wrong key?)", self.name)

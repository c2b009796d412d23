"""A simulated PN532 in HSU mode on a real pty: answers the gate's driver like the chip does.

It starts asleep, as the chip is in HSU low-power mode until it sees the 0x55 0x55 wake-up; then it answers
every information frame with an ACK and a response frame: GetFirmwareVersion (PN532 v1.6), SAMConfiguration,
RFConfiguration, and InListPassiveTarget (one type A target when a card is in the field: 4-byte UIDs as a
MIFARE Classic, 7-byte as an Ultralight/NTAG; ``4B 00`` when the field is empty). Anything else gets the
error frame. ``go_silent`` makes it stop answering altogether (a hung chip) until ``resume``.
"""

from __future__ import annotations

import os
import threading
from types import TracebackType

from gate.readers.pn532 import (
    ACK_FRAME,
    CMD_GET_FIRMWARE_VERSION,
    CMD_IN_LIST_PASSIVE_TARGET,
    CMD_RF_CONFIGURATION,
    CMD_SAM_CONFIGURATION,
    ERROR_FRAME,
    HOST_TFI,
    PN532_TFI,
    DataFrame,
    Pn532Decoder,
    encode_frame,
)
from sim.errors import SimError
from sim.readers.pty import PortError, PtyPort

FIRMWARE = bytes([0x32, 0x01, 0x06, 0x07])  # PN532, version 1.6, ISO 14443 A/B + ISO 18092


class SimPn532Module:
    """A PN532 breakout on a USB-serial adapter; the gate opens ``link``."""

    def __init__(self, link: str | os.PathLike[str]) -> None:
        self.port = PtyPort(link)
        self.link = self.port.link
        self._lock = threading.Lock()
        self._card: bytes | None = None
        self._silent = False
        self._awake = False
        self._decoder = Pn532Decoder()
        self.commands: list[int] = []  # command codes answered, in order (tests look for re-wakes)
        self.wakeups = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sim-pn532-{self.link.name}", daemon=True)
        self._thread.start()

    # -- the world

    def place(self, card: bytes) -> None:
        """Put a card in the field (4, 7 or 10 UID bytes); it stays until ``remove``."""
        if len(card) not in (4, 7, 10):
            raise SimError(f"a type A UID has 4, 7 or 10 bytes, not {len(card)}")
        with self._lock:
            self._card = card

    def remove(self) -> None:
        with self._lock:
            self._card = None

    def go_silent(self) -> None:
        """The chip hangs: it answers nothing, wake-up included."""
        with self._lock:
            self._silent = True
            self._awake = False

    def resume(self) -> None:
        """The chip is back (asleep, as after a power cycle)."""
        with self._lock:
            self._silent = False

    def unplug(self) -> None:
        self.port.unplug()
        with self._lock:
            self._awake = False
            self._decoder = Pn532Decoder()

    def replug(self) -> None:
        self.unplug()
        self.port.plug()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self.port.close()

    # -- the chip

    def _run(self) -> None:
        while not self._stop.is_set():
            data = self.port.read(0.05)
            if not data:
                continue
            with self._lock:
                if self._silent:
                    continue
                if not self._awake:
                    if b"\x55\x55" not in data:
                        continue  # asleep: frames before the wake-up are lost, as on the chip
                    self._awake = True
                    self.wakeups += 1
                    data = data[data.index(b"\x55\x55") + 2 :]
                frames = self._decoder.feed(data)
                self._decoder.take_rejects()
                replies = [self._answer(frame) for frame in frames if isinstance(frame, DataFrame)]
            for reply in replies:
                try:
                    self.port.write(reply)
                except PortError:
                    break  # unplugged meanwhile

    def _answer(self, frame: DataFrame) -> bytes:
        if frame.tfi != HOST_TFI or not frame.data:
            return ERROR_FRAME
        command = frame.data[0]
        self.commands.append(command)
        if command == CMD_GET_FIRMWARE_VERSION:
            body = FIRMWARE
        elif command in (CMD_SAM_CONFIGURATION, CMD_RF_CONFIGURATION):
            body = b""
        elif command == CMD_IN_LIST_PASSIVE_TARGET:
            body = self._targets()
        else:
            return ACK_FRAME + ERROR_FRAME
        return ACK_FRAME + encode_frame(bytes([command + 1]) + body, PN532_TFI)

    def _targets(self) -> bytes:
        card = self._card
        if card is None:
            return b"\x00"
        # SENS_RES and SEL_RES of a MIFARE Classic 1K (4-byte UID) or an Ultralight/NTAG (7 or 10 bytes)
        sens_res, sel_res = (b"\x00\x04", 0x08) if len(card) == 4 else (b"\x00\x44", 0x00)
        return b"\x01\x01" + sens_res + bytes([sel_res, len(card)]) + card

    def __enter__(self) -> SimPn532Module:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

"""NXP PN532 13.56 MHz readers over HSU (the UART interface), 115200 8N1.

The frame codec is pure and follows the PN532 User Manual (UM0701-02), section 6.2:

    normal     00 00 FF LEN LCS TFI PD0..PDn DCS 00     LEN = len(TFI..PDn), LEN+LCS = 0, TFI+PD+DCS = 0 (mod 256)
    extended   00 00 FF FF FF LENM LENL LCS TFI PD.. DCS 00
    ACK        00 00 FF 00 FF 00
    NACK       00 00 FF FF 00 00
    error      00 00 FF 01 FF 7F 81 00                 (syntax error at application level)

TFI is D4 from host to PN532 and D5 back; a response's first data byte is the command code + 1.

The PN532 only answers, so ``Pn532Reader.session`` runs a driver: wake the chip from its HSU low-power
state (0x55 0x55 and zeros), SAMConfiguration normal mode, RFConfiguration so an empty field answers at once
instead of waiting for a card forever, then InListPassiveTarget (106 kbps type A) in a loop. A command that
gets no answer in time re-wakes the chip; after ``MAX_WAKE_FAILURES`` wake-ups in a row without an answer
the session ends and the base class reopens the port. ``health().extra`` shows the driver's state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import serial

from gate.readers.base import CardRead, ReaderError, SerialCardReader
from protocol.cards import uid_from_bytes

BAUDRATE = 115200
HOST_TFI = 0xD4
PN532_TFI = 0xD5
ERROR_TFI = 0x7F
START = b"\x00\xff"
ACK_FRAME = b"\x00\x00\xff\x00\xff\x00"
NACK_FRAME = b"\x00\x00\xff\xff\x00\x00"
ERROR_FRAME = b"\x00\x00\xff\x01\xff\x7f\x81\x00"
WAKE_UP = b"\x55\x55" + bytes(14)  # HSU wake-up: 0x55 0x55, then zeros long enough for the chip to wake

CMD_GET_FIRMWARE_VERSION = 0x02
CMD_SAM_CONFIGURATION = 0x14
CMD_RF_CONFIGURATION = 0x32
CMD_IN_LIST_PASSIVE_TARGET = 0x4A
SAM_NORMAL = bytes([CMD_SAM_CONFIGURATION, 0x01, 0x14, 0x01])  # normal mode, 1 s virtual-card timeout, use IRQ
# CfgItem 5 (MxRtyATR, MxRtyPSL, MxRtyPassiveActivation): retry activation twice, then answer "no target"
RF_RETRIES = bytes([CMD_RF_CONFIGURATION, 0x05, 0xFF, 0x01, 0x02])
LIST_ONE_TYPE_A = bytes([CMD_IN_LIST_PASSIVE_TARGET, 0x01, 0x00])  # one target, 106 kbps ISO 14443 type A

RESPONSE_TIMEOUT_S = 0.3
POLL_INTERVAL_S = 0.05
MAX_WAKE_FAILURES = 3
RELEASE_S = 0.5
MAX_DATA = 264  # the longest PD0..PDn a PN532 sends (InDataExchange with 262 bytes of card data)


@dataclass(frozen=True)
class Ack:
    pass


@dataclass(frozen=True)
class Nack:
    pass


@dataclass(frozen=True)
class ErrorFrame:
    """The PN532 could not understand the host's frame."""


@dataclass(frozen=True)
class DataFrame:
    tfi: int
    data: bytes  # PD0..PDn; for a response PD0 is the command code + 1
    raw: bytes


Pn532Frame = Ack | Nack | ErrorFrame | DataFrame


def encode_frame(data: bytes, tfi: int = HOST_TFI) -> bytes:
    """A normal (or, for long data, extended) information frame carrying ``data``."""
    length = len(data) + 1
    dcs = (-(tfi + sum(data))) & 0xFF
    if length <= 0xFF:
        head = bytes([length, (-length) & 0xFF])
    elif length <= 0xFFFF:
        high, low = length >> 8, length & 0xFF
        head = bytes([0xFF, 0xFF, high, low, (-(high + low)) & 0xFF])
    else:
        raise ReaderError(f"a PN532 frame carries at most 65534 bytes, not {len(data)}")
    return b"\x00" + START + head + bytes([tfi]) + data + bytes([dcs, 0x00])


def target_uids(response: bytes) -> list[bytes]:
    """The NFCIDs in an InListPassiveTarget response (type A): ``4B NbTg [Tg SENS_RES SEL_RES NFCIDLen NFCID…]``."""
    if len(response) < 2 or response[0] != CMD_IN_LIST_PASSIVE_TARGET + 1:
        raise ReaderError(f"not an InListPassiveTarget response: {response.hex()}")
    uids: list[bytes] = []
    pos = 2
    for _ in range(response[1]):
        # Tg, SENS_RES (2), SEL_RES, NFCIDLength, NFCID, then ATS when SEL_RES says ISO 14443-4 (bit 6)
        if pos + 5 > len(response):
            raise ReaderError(f"InListPassiveTarget response cut short: {response.hex()}")
        sel_res, length = response[pos + 3], response[pos + 4]
        uid = response[pos + 5 : pos + 5 + length]
        if length not in (4, 7, 10) or len(uid) != length:
            raise ReaderError(f"InListPassiveTarget target with a {length}-byte NFCID: {response.hex()}")
        uids.append(uid)
        pos += 5 + length
        if sel_res & 0x20 and pos < len(response):
            pos += response[pos]  # the ATS's first byte is its length, itself included
    return uids


class Pn532Decoder:
    """Bytes from the PN532 in, frames out; garbage and frames with bad LCS/DCS are skipped and noted."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.rejects: list[str] = []

    def take_rejects(self) -> list[str]:
        """The reasons of the frames refused since the last call."""
        rejects, self.rejects = self.rejects, []
        return rejects

    def feed(self, data: bytes) -> list[Pn532Frame]:
        """Take whatever the port delivered; return the complete frames in it."""
        self._buffer += data
        frames: list[Pn532Frame] = []
        while True:
            frame = self._next()
            if frame is None:
                return frames
            frames.append(frame)

    def _next(self) -> Pn532Frame | None:
        buf = self._buffer
        while True:
            start = buf.find(START)
            if start < 0:
                del buf[: max(0, len(buf) - 1)]  # keep a trailing 00: it may be the start code's first half
                return None
            del buf[:start]
            if len(buf) < 4:
                return None
            length, lcs = buf[2], buf[3]
            if length == 0x00 and lcs == 0xFF:
                del buf[:4]
                self._skip_postamble()
                return Ack()
            if length == 0xFF and lcs == 0x00:
                del buf[:4]
                self._skip_postamble()
                return Nack()
            if length == 0xFF and lcs == 0xFF:
                if len(buf) < 7:
                    return None
                high, low, ext_lcs = buf[4], buf[5], buf[6]
                if (high + low + ext_lcs) & 0xFF:
                    self.rejects.append("extended frame with a bad LCS")
                    del buf[:2]
                    continue
                length, head = (high << 8) | low, 7
                if length > MAX_DATA + 1:
                    self.rejects.append(f"extended frame of {length} bytes, longer than a PN532 sends")
                    del buf[:2]
                    continue
            elif (length + lcs) & 0xFF:
                self.rejects.append(f"bad LCS: LEN {length:02X} LCS {lcs:02X}")
                del buf[:2]
                continue
            else:
                head = 4
            if length == 0:
                self.rejects.append("information frame without TFI")
                del buf[:head]
                continue
            if len(buf) < head + length + 1:
                return None
            body = bytes(buf[head : head + length])
            dcs = buf[head + length]
            raw = b"\x00" + bytes(buf[: head + length + 1]) + b"\x00"
            if (sum(body) + dcs) & 0xFF:
                self.rejects.append(f"bad DCS in a frame of {length} bytes")
                del buf[:2]
                continue
            del buf[: head + length + 1]
            self._skip_postamble()
            if body[0] == ERROR_TFI and length == 1:
                return ErrorFrame()
            return DataFrame(tfi=body[0], data=body[1:], raw=raw)

    def _skip_postamble(self) -> None:
        # the postamble is 00; leave it when a start code follows straight on (00 FF), it is then a preamble
        if self._buffer[:1] == b"\x00" and self._buffer[1:2] != b"\xff":
            del self._buffer[:1]


class NoAnswer(ReaderError):
    """The PN532 did not answer a command in time (the driver re-wakes it; never leaves the reader's thread)."""


Clock = Callable[[], float]


class Pn532Reader(SerialCardReader):
    """A PN532 on a serial port in HSU mode, polled for type A cards (MIFARE, NTAG, DESFire: 4- and 7-byte UIDs).

    A card held in the field is reported once; it is reported again after ``release_s`` of polls without it.
    """

    protocol = "pn532"

    def __init__(
        self,
        name: str,
        port: str,
        baudrate: int = BAUDRATE,
        *,
        poll_interval_s: float = POLL_INTERVAL_S,
        response_timeout_s: float = RESPONSE_TIMEOUT_S,
        release_s: float = RELEASE_S,
        clock: Clock = time.monotonic,
    ) -> None:
        if poll_interval_s < 0 or response_timeout_s <= 0 or release_s <= 0:
            raise ReaderError("poll_interval_s must be >= 0, response_timeout_s and release_s positive")
        super().__init__(name, port, baudrate)
        self._poll_interval_s = poll_interval_s
        self._response_timeout_s = response_timeout_s
        self._release_s = release_s
        self._clock = clock
        self._decoder = Pn532Decoder()
        self._set(extra={"state": "closed", "firmware": None, "timeouts": 0, "wakeups": 0})

    def session(self, port: serial.SerialBase) -> None:
        """Wake, configure, poll; re-wake on silence; return (→ reopen) when waking keeps failing."""
        self._decoder = Pn532Decoder()
        failures = 0
        held: bytes | None = None
        held_at = 0.0
        while not self.stopping:
            try:
                self._wake(port)
                failures = 0
                self._set(last_error=None)
                self._extra(state="polling")
                while not self.stopping:
                    response = self._command(port, LIST_ONE_TYPE_A)
                    now = self._clock()
                    uids = target_uids(response)
                    if uids:
                        uid = uids[0]
                        if uid != held or now - held_at > self._release_s:
                            raw = encode_frame(response, PN532_TFI)  # the frame as it came, rebuilt
                            self.card(CardRead(uid=uid_from_bytes(uid), protocol="pn532", raw=raw))
                        held, held_at = uid, now
                    self._sleep(self._poll_interval_s)
            except ReaderError as err:  # NoAnswer included
                if self.stopping:
                    return
                failures += 1
                self._bump("timeouts" if isinstance(err, NoAnswer) else "errors")
                self._set(last_error=f"PN532: {err}")
                if failures >= MAX_WAKE_FAILURES:
                    self._extra(state="not answering")
                    return  # the base class closes and reopens the port

    # -- the driver

    def _wake(self, port: serial.SerialBase) -> None:
        self._bump("wakeups")
        self._extra(state="waking")
        port.reset_input_buffer()
        self._decoder = Pn532Decoder()
        port.write(WAKE_UP)
        self._command(port, SAM_NORMAL)
        version = self._command(port, bytes([CMD_GET_FIRMWARE_VERSION]))
        if len(version) >= 4:
            self._extra(firmware=f"PN5{version[1]:02X} {version[2]}.{version[3]}")
        self._command(port, RF_RETRIES)

    def _command(self, port: serial.SerialBase, data: bytes) -> bytes:
        """Send a command, wait for its ACK and its response; returns the response's data (code + 1 first)."""
        port.write(encode_frame(data))
        acked = False
        deadline = self._clock() + self._response_timeout_s
        while not self.stopping:
            if self._clock() > deadline:
                raise NoAnswer(f"no {'response' if acked else 'ACK'} to command 0x{data[0]:02X}")
            chunk = port.read(max(1, port.in_waiting))
            frames = self._decoder.feed(chunk) if chunk else []
            for why in self._decoder.take_rejects():
                self.bad_frame(why)
            for frame in frames:
                if isinstance(frame, Ack):
                    acked = True
                elif isinstance(frame, Nack):
                    port.write(encode_frame(data))  # the other side asks for the last frame again
                elif isinstance(frame, ErrorFrame):
                    raise ReaderError(f"PN532 refused command 0x{data[0]:02X} (error frame)")
                elif frame.tfi == PN532_TFI and frame.data[:1] == bytes([data[0] + 1]):
                    return frame.data
                else:
                    self.bad_frame(f"unexpected frame {frame.raw.hex()}")
        raise NoAnswer("stopping")

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stop.wait(seconds)

    def _extra(self, **values: object) -> None:
        with self._lock:
            self._health.extra.update(values)

    def _bump(self, key: str) -> None:
        with self._lock:
            count = self._health.extra.get(key, 0)
            self._health.extra[key] = int(count) + 1

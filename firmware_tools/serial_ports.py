"""Serial ports for a technician: which adapters are plugged in, and what a card reader on one sends."""

from __future__ import annotations

import os
import queue
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from serial.tools import list_ports

from gate.readers.base import CardRead, CardReader
from gate.readers.factory import open_reader

BY_ID = Path("/dev/serial/by-id")


@dataclass(frozen=True)
class PortInfo:
    device: str
    description: str
    usb_id: str | None  # "vvvv:pppp"
    serial_number: str | None
    stable_names: tuple[str, ...]  # /dev/serial/by-id links to this device: use these in gate.toml


def _stable_names(by_id: Path) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    if by_id.is_dir():
        for link in sorted(by_id.iterdir()):
            names.setdefault(os.path.realpath(link), []).append(str(link))
    return names


def list_serial_ports(by_id: Path = BY_ID) -> list[PortInfo]:
    stable = _stable_names(by_id)
    ports = []
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        usb = f"{port.vid:04x}:{port.pid:04x}" if port.vid is not None and port.pid is not None else None
        ports.append(
            PortInfo(
                device=port.device,
                description=port.description or "",
                usb_id=usb,
                serial_number=port.serial_number,
                stable_names=tuple(stable.get(os.path.realpath(port.device), [])),
            )
        )
    return ports


def reader_options(protocol: str, args: Any) -> dict[str, Any]:
    """The ``open_reader`` options a sniff or enroll command line asked for."""
    options: dict[str, Any] = {}
    if args.baudrate:
        options["baudrate"] = args.baudrate
    if protocol == "ascii" and args.format:
        options["fmt"] = args.format
    if protocol == "osdp":
        options["address"] = args.address
        if args.scbk:
            options["scbk"] = bytes.fromhex(args.scbk)
    return options


def card_line(read: CardRead, raw: bool) -> str:
    """``04A224B1  decimal 77735089  em4100`` (+ the frame bytes with ``raw``)."""
    line = f"{read.uid}  decimal {int(read.uid, 16)}  {read.protocol}"
    if raw:
        line += f"  raw {read.raw.hex(' ')}"
    return line


def sniff(
    reader: CardReader,
    out: TextIO | None = None,
    *,
    raw: bool = False,
    count: int = 0,
    seconds: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Print each card the reader reports until ``count`` cards or ``seconds`` (0 = until interrupted)."""
    out = out or sys.stdout
    reads: queue.Queue[CardRead] = queue.Queue()
    reader.start(reads.put)
    seen = 0
    deadline = clock() + seconds if seconds else None
    last_health = None
    try:
        while not count or seen < count:
            if deadline is not None and clock() >= deadline:
                break
            try:
                read = reads.get(timeout=0.2)
            except queue.Empty:
                health = reader.health()
                state = (health.connected, health.last_error)
                if state != last_health:  # say when the reader comes and goes, once each
                    print(
                        f"# {reader.name}: {'connected' if health.connected else 'not connected'}"
                        f"{'' if not health.last_error else ' — ' + health.last_error}",
                        file=out,
                        flush=True,
                    )
                    last_health = state
                continue
            print(card_line(read, raw), file=out, flush=True)
            seen += 1
    finally:
        reader.stop()
    return seen


def open_for_cli(name: str, protocol: str, port: str, args: Any) -> CardReader:
    return open_reader(name, protocol, port, **reader_options(protocol, args))

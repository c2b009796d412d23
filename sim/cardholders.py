"""Who carries an RFID card in the demo, the reader each gate has, and what the gates must answer.

Every gate of the demo gets card readers on real ptys, driven from here; the protocols differ from gate to
gate so one demo exercises all of them:

    entry-1  EM4100 module (RDM6300 framing)     125 kHz cards, 5-byte ids
    entry-2  OSDP reader, Secure Channel          13.56 MHz cards (libosdp Peripheral Device on the pty)
    entry-3  PN532 over HSU                       13.56 MHz cards
    entry-4  ASCII-line USB reader (hex)          125 kHz cards
    …        and round again
    exit     PN532 for 13.56 MHz cards and an ASCII-line reader for 125 kHz cards, side by side

A card holder's card is of the technology their entry gate reads, and they leave through the exit gate's
reader of that technology. Card holders are planned up front from the seeded generator like visitors;
their card ids come from it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gate.readers.base import CardReader
from gate.readers.factory import open_reader
from protocol import Reason
from sim.errors import ScenarioError, SimError
from sim.readers.ascii_line import SimAsciiReader
from sim.readers.em4100 import SimEm4100Module
from sim.readers.osdp import SimOsdpReader
from sim.readers.pn532 import SimPn532Module
from sim.visitors import Step, Timing, Visitor

ENTRY_PROTOCOLS = ("em4100", "osdp", "pn532", "ascii")
EXIT_PROTOCOLS = ("pn532", "ascii")
# which cards a reader reads: 125 kHz EM4100 tags or 13.56 MHz ISO 14443 A cards (MIFARE, NTAG)
TECHNOLOGY = {"em4100": "em", "ascii": "em", "pn532": "mifare", "osdp": "mifare"}
OSDP_ADDRESS = 1

# kind → share of the card holders; "after_replug" is the one holder who taps on the replugged reader
CARD_KINDS: dict[str, float] = {
    "resident": 0.30,
    "ranger": 0.12,
    "staff": 0.12,
    "guide": 0.10,
    "resident_twice": 0.08,
    "unknown_card": 0.08,
    "deactivated_card": 0.08,
    "expired_card": 0.08,
    "after_replug": 0.0,
}
ROLE: dict[str, str | None] = {  # the role the server registers the card with; None: never registered
    "resident": "resident",
    "ranger": "ranger",
    "staff": "staff",
    "guide": "guide",
    "resident_twice": "resident",
    "unknown_card": None,
    "deactivated_card": "staff",
    "expired_card": "guide",
    "after_replug": "ranger",
}
REFUSED_AS: dict[str, str] = {
    "unknown_card": Reason.UNKNOWN_CARD.value,
    "deactivated_card": Reason.REVOKED.value,
    "expired_card": Reason.EXPIRED.value,
}
GRANTED = frozenset({Reason.GRANTED.value})


@dataclass
class CardHolder(Visitor):
    """A visitor who taps an RFID card instead of showing a QR; ``role`` None: a card nobody registered."""

    role: str | None = None
    card: bytes = b""
    holder: str = ""

    @property
    def card_uid(self) -> str:
        return self.card.hex().upper()


@dataclass(frozen=True)
class ReaderFault:
    """One reader pulled out at ``unplug_s`` and put back at ``replug_s`` (seconds into the day)."""

    gate: str
    reader: str
    unplug_s: float
    replug_s: float


def reader_name(gate: str, protocol: str) -> str:
    return f"{gate}-{protocol}"


def gate_protocols(entry_gates: list[str], exit_gate: str) -> dict[str, tuple[str, ...]]:
    """The reader protocols of each gate: entry gates cycle through every protocol, the exit has two."""
    plan: dict[str, tuple[str, ...]] = {
        gate: (ENTRY_PROTOCOLS[i % len(ENTRY_PROTOCOLS)],) for i, gate in enumerate(entry_gates)
    }
    plan[exit_gate] = EXIT_PROTOCOLS
    return plan


def reader_fault(entry_gates: list[str], timing: Timing) -> ReaderFault:
    """The last entry gate's reader is unplugged a little after mid-day (the first one also loses its network)."""
    gate = entry_gates[-1]
    protocol = ENTRY_PROTOCOLS[(len(entry_gates) - 1) % len(ENTRY_PROTOCOLS)]
    d = timing.duration_s
    return ReaderFault(gate, reader_name(gate, protocol), d * 0.45, d * 0.52)


def _kind_counts(total: int) -> dict[str, int]:
    if total < 0:
        raise ScenarioError(f"the number of card holders cannot be negative, not {total}")
    counts = {kind: int(share * total) for kind, share in CARD_KINDS.items()}
    if total >= len(CARD_KINDS):
        for kind in counts:  # a small run still shows every kind once
            counts[kind] = max(1, counts[kind])
    counts["resident"] += total - sum(counts.values())
    if counts["resident"] < 0:
        raise ScenarioError(f"{total} card holders are too few for this mix")
    return counts


class _CardIds:
    """Unique, non-zero card ids of the right shape for each technology."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.issued: set[bytes] = set()

    def new(self, technology: str) -> bytes:
        while True:
            if technology == "em":
                card = bytes([int(self.rng.integers(1, 256))]) + self._bytes(4)  # customer byte, 32-bit id
            elif self.rng.random() < 0.5:
                card = self._bytes(4)  # MIFARE Classic NUID
            else:
                card = b"\x04" + self._bytes(6)  # NXP 7-byte UID (Ultralight, NTAG, DESFire)
            if any(card) and card not in self.issued:
                self.issued.add(card)
                return card

    def _bytes(self, n: int) -> bytes:
        return self.rng.integers(0, 256, n, dtype=np.uint8).tobytes()


def plan_cardholders(
    rng: np.random.Generator,
    total: int,
    entry_gates: list[str],
    exit_gate: str,
    timing: Timing,
    fault: ReaderFault,
    first_index: int = 0,
) -> list[CardHolder]:
    """The day's card holders with their steps, sorted by arrival; indexes start at ``first_index``."""
    counts = _kind_counts(total)
    kinds = [kind for kind, n in counts.items() for _ in range(n)]
    rng.shuffle(kinds)
    protocols = gate_protocols(entry_gates, exit_gate)
    ids = _CardIds(rng)
    d = timing.duration_s
    late = d * 0.72
    holders: list[CardHolder] = []
    for offset, kind in enumerate(kinds):
        if kind == "after_replug":
            gate = fault.gate
            arrive = fault.replug_s + 1.5
        elif kind == "resident_twice":
            gate, arrive = _clear_of_fault(rng, entry_gates, fault, timing)
        else:
            gate = entry_gates[int(rng.integers(0, len(entry_gates)))]
            arrive = float(rng.uniform(0.02 * d, late))
        protocol = protocols[gate][0]
        technology = TECHNOLOGY[protocol]
        role = ROLE[kind]
        people = (1, 0, 0) if role == "resident" else (0, 0, 0)
        index = first_index + offset
        holder = CardHolder(
            index, kind, people, gate, role=role, card=ids.new(technology), holder=f"{role or 'nobody'} {index}"
        )
        entry_reader = reader_name(gate, protocol)
        exit_protocol = next(p for p in protocols[exit_gate] if TECHNOLOGY[p] == technology)
        exit_reader = reader_name(exit_gate, exit_protocol)
        exit_at = min(arrive + float(rng.uniform(0.08, 0.2) * d), 0.9 * d)
        steps: list[Step]
        if kind in REFUSED_AS:
            steps = [Step(holder, gate, frozenset({REFUSED_AS[kind]}), arrive, reader=entry_reader)]
        elif kind == "resident_twice":
            # in, and the card tapped again before leaving (lent to a friend) → already_inside; then out
            again = timing.debounce_s + 1.5
            steps = [
                Step(holder, gate, GRANTED, arrive, reader=entry_reader),
                Step(
                    holder,
                    gate,
                    frozenset({Reason.ALREADY_INSIDE.value}),
                    arrive + again,
                    again,
                    reader=entry_reader,
                    same_turn=True,
                ),
                Step(holder, exit_gate, GRANTED, max(exit_at, arrive + again + 2.0), 1.0, reader=exit_reader),
            ]
        else:
            steps = [
                Step(holder, gate, GRANTED, arrive, reader=entry_reader),
                Step(holder, exit_gate, GRANTED, exit_at, 1.0, reader=exit_reader),
            ]
        holder.steps = steps
        holders.append(holder)
    holders.sort(key=lambda h: h.steps[0].at)
    return holders


def _clear_of_fault(
    rng: np.random.Generator, entry_gates: list[str], fault: ReaderFault, timing: Timing
) -> tuple[str, float]:
    """Gate and arrival time for someone who taps twice, clear of the reader that will be pulled out.

    The second tap must come within the passback timeout; waiting for an unplugged reader could outlast it.
    """
    d = timing.duration_s
    others = [gate for gate in entry_gates if gate != fault.gate]
    if others:
        return others[int(rng.integers(0, len(others)))], float(rng.uniform(0.02 * d, d * 0.72))
    before = (0.02 * d, max(0.02 * d, fault.unplug_s - timing.passback_s - 2.0))
    after = (fault.replug_s + 3.0, max(fault.replug_s + 3.0, d * 0.72))
    low, high = before if rng.random() < 0.5 and before[1] > before[0] else after
    return entry_gates[0], float(rng.uniform(low, high))


SimModule = SimEm4100Module | SimPn532Module | SimAsciiReader | SimOsdpReader


class LaneReader:
    """One card reader at a gate: the simulated device on its pty, and how the gate opens it.

    ``present`` is a person tapping a card (blocking for as long as the tap lasts on the wire); ``withdraw``
    takes it away again (only the PN532 keeps a card in its field until then). Noise before a tap is what
    cheap 125 kHz modules and long lines add: stray bytes, a frame cut in half, a false all-zero frame.
    """

    def __init__(self, gate: str, protocol: str, dev_dir: Path, rng: np.random.Generator) -> None:
        self.gate = gate
        self.protocol = protocol
        self.name = reader_name(gate, protocol)
        self.technology = TECHNOLOGY[protocol]
        self.link = dev_dir / f"tty-{self.name}"
        self.rng = rng
        self.scbk: bytes | None = None
        self.noise_sent = 0
        dev_dir.mkdir(parents=True, exist_ok=True)
        self.sim: SimModule
        if protocol == "em4100":
            self.sim = SimEm4100Module(self.link)
        elif protocol == "pn532":
            self.sim = SimPn532Module(self.link)
        elif protocol == "ascii":
            self.sim = SimAsciiReader(self.link, "hex")
        elif protocol == "osdp":
            self.scbk = rng.integers(0, 256, 16, dtype=np.uint8).tobytes()  # this reader's own key
            self.sim = SimOsdpReader(self.link, address=OSDP_ADDRESS, scbk=self.scbk)
            self.sim.plug()
        else:
            raise ScenarioError(f"no simulated reader for protocol {protocol!r}")

    def gate_reader(self) -> CardReader:
        """The gate's reader for this device, built by the gate's own factory as ``gate.toml`` would."""
        options: dict[str, Any] = {}
        if self.protocol == "ascii":
            options["fmt"] = "hex"
        elif self.protocol == "osdp":
            assert self.scbk is not None
            options.update(address=OSDP_ADDRESS, scbk=self.scbk.hex())
        return open_reader(self.name, self.protocol, str(self.link), **options)

    @property
    def plugged(self) -> bool:
        if isinstance(self.sim, SimOsdpReader):
            return self.sim.plugged
        return self.sim.port.plugged

    def present(self, card: bytes) -> None:
        """A card tapped on the reader; raises SimError if the reader cannot take it now (unplugged)."""
        sim = self.sim
        if isinstance(sim, SimEm4100Module):
            self._line_noise(sim)
            sim.tap(card, frames=4)
        elif isinstance(sim, SimPn532Module):
            sim.place(card)
        elif isinstance(sim, SimAsciiReader):
            if self.rng.random() < 0.2:
                sim.line(b"\xff\xfe#!")  # a burst of garbage on the USB-serial line, then the id
                self.noise_sent += 1
            sim.tap(card)
        else:
            sim.tap(card)

    def _line_noise(self, sim: SimEm4100Module) -> None:
        draw = self.rng.random()
        if draw < 0.1:
            sim.noise(self.rng, 16)
        elif draw < 0.2:
            sim.half_frame(self.rng.integers(1, 256, 5, dtype=np.uint8).tobytes())
        elif draw < 0.3:
            sim.false_zero_frame()
        else:
            return
        self.noise_sent += 1

    def withdraw(self) -> None:
        if isinstance(self.sim, SimPn532Module):
            self.sim.remove()

    def online(self) -> bool:
        """Whether the device side is ready: plugged in (OSDP: polled by the gate, Secure Channel up)."""
        if isinstance(self.sim, SimOsdpReader):
            return self.sim.online and self.sim.sc_active
        return self.plugged

    def unplug(self) -> None:
        self.sim.unplug()

    def replug(self) -> None:
        self.sim.replug()

    def close(self) -> None:
        try:
            self.sim.close()
        except (OSError, SimError) as err:
            raise ScenarioError(f"reader {self.name} did not close: {err}") from err

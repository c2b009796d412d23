"""OSDP end to end over a real pty: the gate's libosdp Control Panel against libosdp's Peripheral Device.

Each test polls with generous timeouts (libosdp needs a few hundred ms to go online and set up the Secure
Channel on a shared machine); nothing asserts on time.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import osdp
import pytest

from gate.readers.base import CardRead
from gate.readers.factory import open_reader
from gate.readers.osdp import SC_ACTIVE, SC_FAILED, SC_LOST, SC_OFF, OsdpReader
from sim.readers.osdp import OsdpSimError, SimOsdpReader
from tests.sim.readers.lane import WAIT_S, wait_for

KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
OTHER_KEY = bytes.fromhex("FFEEDDCCBBAA99887766554433221100")
QUIET_S = 1.5  # how long "nothing arrives" is watched for; the CP polls every 50 ms, so a card would show


class OsdpLane:
    """An OsdpReader running against a simulated reader, its card reads on a queue."""

    def __init__(self, reader: OsdpReader, sim: SimOsdpReader) -> None:
        self.reader = reader
        self.sim = sim
        self.reads: queue.Queue[CardRead] = queue.Queue()

    def next_read(self, timeout: float = WAIT_S) -> CardRead:
        return self.reads.get(timeout=timeout)

    def online(self) -> None:
        wait_for(lambda: self.reader.health().connected and self.sim.online)


@contextmanager
def lane(
    tmp_path: Path, *, gate_key: bytes | None = KEY, reader_key: bytes | None = KEY, address: int = 5
) -> Iterator[OsdpLane]:
    with SimOsdpReader(tmp_path / "ttyRS485", address=address, scbk=reader_key) as sim:
        reader = OsdpReader("turnstile", str(sim.link), address=address, scbk=gate_key)
        osdp_lane = OsdpLane(reader, sim)
        reader.start(osdp_lane.reads.put)
        try:
            yield osdp_lane
        finally:
            reader.stop()


def test_secure_channel_card_tap_is_exactly_one_read(tmp_path: Path) -> None:
    with lane(tmp_path) as ln:
        ln.online()
        wait_for(lambda: ln.reader.health().extra["secure_channel"] == SC_ACTIVE)
        assert ln.sim.sc_active
        ln.sim.tap(bytes.fromhex("0A1B2C3D"))
        read = ln.next_read()
        assert read == CardRead(uid="0A1B2C3D", protocol="osdp", raw=bytes.fromhex("0A1B2C3D"))
        # a second card is the very next read: the first one was not reported twice
        ln.sim.tap(bytes.fromhex("04A2B3C4D5E680"))
        assert ln.next_read().uid == "04A2B3C4D5E680"
        health = ln.reader.health()
        assert health.frames_ok == 2
        assert health.frames_bad == 0
        assert health.last_read_at is not None
        assert health.last_error is None


def test_wiegand_26_bits_keep_their_packing(tmp_path: Path) -> None:
    with lane(tmp_path) as ln:
        ln.online()
        ln.sim.tap(bytes.fromhex("7B303980"), bits=26)  # 26 bits, MSB first, padded to 4 bytes
        assert ln.next_read().uid == "7B303980"


def test_show_sends_led_and_buzzer_to_the_reader(tmp_path: Path) -> None:
    with lane(tmp_path) as ln:
        ln.online()
        ln.reader.show(True)
        wait_for(lambda: len(ln.sim.leds()) == 1 and len(ln.sim.buzzers()) == 1)
        ln.reader.show(False)
        wait_for(lambda: len(ln.sim.leds()) == 2 and len(ln.sim.buzzers()) == 2)
        granted_led, refused_led = ln.sim.leds()
        granted_beep, refused_beep = ln.sim.buzzers()
        assert granted_led["on_color"] == osdp.CommandLEDColor.Green
        assert refused_led["on_color"] == osdp.CommandLEDColor.Red
        for led in (granted_led, refused_led):
            assert led["temporary"] is True
            assert led["timer_count"] == 10  # ~1 s, in units of 100 ms
        assert granted_beep["rep_count"] == 1
        assert refused_beep["rep_count"] == 2


def test_tamper_becomes_health(tmp_path: Path) -> None:
    with lane(tmp_path) as ln:
        ln.online()
        assert ln.reader.health().extra["tamper"] is False
        ln.sim.set_tamper(True)
        wait_for(lambda: ln.reader.health().extra["tamper"] is True)
        ln.sim.set_tamper(False)
        wait_for(lambda: ln.reader.health().extra["tamper"] is False)


def test_wrong_key_reads_no_cards_and_says_so(tmp_path: Path) -> None:
    with lane(tmp_path, gate_key=KEY, reader_key=OTHER_KEY) as ln:
        wait_for(lambda: ln.reader.health().extra["secure_channel"] == SC_FAILED)
        health = ln.reader.health()
        assert not health.connected
        assert health.last_error is not None
        assert "secure channel" in health.last_error
        assert not ln.sim.sc_active
        ln.sim.tap(bytes.fromhex("0A1B2C3D"))  # the PD queues it; the gate must never see it
        with pytest.raises(queue.Empty):
            ln.next_read(timeout=QUIET_S)
        assert ln.reader.health().frames_ok == 0


def test_without_a_key_the_line_is_plaintext(tmp_path: Path) -> None:
    with lane(tmp_path, gate_key=None, reader_key=None) as ln:
        ln.online()
        assert ln.reader.health().extra["secure_channel"] == SC_OFF
        assert not ln.sim.sc_active
        ln.sim.tap(b"\x12\x34\x56\x78")
        assert ln.next_read().uid == "12345678"


def test_unplug_and_replug_reconnects_by_itself(tmp_path: Path) -> None:
    with lane(tmp_path) as ln:
        ln.online()
        ln.sim.set_tamper(True)
        wait_for(lambda: ln.reader.health().extra["tamper"] is True)
        ln.sim.unplug()
        wait_for(lambda: not ln.reader.health().connected and not ln.reader.health().extra["port_open"])
        health = ln.reader.health()
        assert health.extra["secure_channel"] == SC_LOST
        assert health.last_error is not None
        ln.reader.show(True)  # the gate decides while the reader is away: must not block or crash
        ln.sim.replug()
        wait_for(lambda: ln.reader.health().connected and ln.reader.health().reconnects == 1)
        wait_for(lambda: ln.reader.health().extra["secure_channel"] == SC_ACTIVE)
        ln.sim.tap(b"\xca\xfe\xba\xbe")
        assert ln.next_read().uid == "CAFEBABE"
        assert ln.sim.leds() == []  # the decision shown while it was away is not replayed on the reader


@pytest.mark.slow
def test_reader_power_cut_with_the_adapter_left_in_comes_back(tmp_path: Path) -> None:
    # libosdp alone would wait 300 s before talking to a reader that stopped answering
    with lane(tmp_path) as ln:
        ln.online()
        ln.sim.power_off()
        wait_for(lambda: not ln.reader.health().connected, timeout=30.0)
        health = ln.reader.health()
        assert health.extra["port_open"]
        assert health.last_error == "reader at OSDP address 5 does not answer"
        ln.sim.power_on()
        wait_for(lambda: ln.reader.health().extra["secure_channel"] == SC_ACTIVE and ln.sim.online, timeout=30.0)
        assert ln.reader.health().reconnects == 0  # the port never went away
        ln.sim.tap(b"\x0b\x0e\x0e\x0f")
        assert ln.next_read().uid == "0B0E0E0F"


def test_factory_builds_an_osdp_reader_from_config_values(tmp_path: Path) -> None:
    with SimOsdpReader(tmp_path / "ttyUSB1", address=0, scbk=KEY) as sim:
        reader = open_reader("lane1", "osdp", str(sim.link), address=0, scbk=KEY.hex(), baudrate=9600)
        assert isinstance(reader, OsdpReader)
        reads: queue.Queue[CardRead] = queue.Queue()
        reader.start(reads.put)
        try:
            wait_for(lambda: reader.health().extra["secure_channel"] == SC_ACTIVE)
            sim.tap(b"\x01\x02\x03\x04\x05")
            assert reads.get(timeout=WAIT_S).uid == "0102030405"
        finally:
            reader.stop()


def test_sim_refuses_bad_use(tmp_path: Path) -> None:
    with pytest.raises(OsdpSimError):
        SimOsdpReader(tmp_path / "x", address=127)
    with pytest.raises(OsdpSimError):
        SimOsdpReader(tmp_path / "x", scbk=b"short")
    sim = SimOsdpReader(tmp_path / "x")
    with pytest.raises(OsdpSimError, match="unplugged"):
        sim.tap(b"\x01")
    with pytest.raises(OsdpSimError, match="unplugged"):
        sim.power_on()
    with sim:
        assert sim.plugged and sim.powered
        with pytest.raises(OsdpSimError, match="already powered"):
            sim.power_on()
        with pytest.raises(OsdpSimError):
            sim.tap(b"")
        with pytest.raises(OsdpSimError):
            sim.tap(b"\x01\x02", bits=20)
        with pytest.raises(OsdpSimError):
            sim.plug()
    assert not (tmp_path / "x").exists()

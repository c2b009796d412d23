"""PN532 end to end: the gate's polling driver against the simulated chip on a real pty."""

from __future__ import annotations

from pathlib import Path

from gate.readers.factory import open_reader
from gate.readers.pn532 import CMD_SAM_CONFIGURATION, Pn532Reader
from sim.readers.pn532 import SimPn532Module
from tests.sim.readers.lane import Lane, running, wait_for

CLASSIC = bytes.fromhex("DEADBEEF")
ULTRALIGHT = bytes.fromhex("04123456789ABC")


def polling(lane: Lane) -> None:
    wait_for(lambda: lane.reader.health().extra.get("state") == "polling")


def test_wakes_configures_and_reads_4_and_7_byte_uids(tmp_path: Path) -> None:
    with SimPn532Module(tmp_path / "ttyPN0") as chip:
        reader = open_reader("nfc", "pn532", str(chip.link), poll_interval_s=0.02)
        assert isinstance(reader, Pn532Reader)
        with running(reader) as lane:
            polling(lane)
            assert chip.wakeups == 1
            assert chip.commands[:3] == [CMD_SAM_CONFIGURATION, 0x02, 0x32]
            assert reader.health().extra["firmware"] == "PN532 1.6"
            chip.place(CLASSIC)
            read = lane.next_read()
            assert (read.uid, read.protocol) == ("DEADBEEF", "pn532")
            assert read.raw.startswith(b"\x00\x00\xff")
            # held: polled again and again, reported once; then another card
            polls = len(chip.commands)
            wait_for(lambda: len(chip.commands) > polls + 10)
            chip.remove()
            chip.place(ULTRALIGHT)
            assert lane.next_read().uid == "04123456789ABC"
            assert lane.reads.empty()


def test_card_away_and_back_is_a_new_read(tmp_path: Path) -> None:
    with (
        SimPn532Module(tmp_path / "ttyPN0") as chip,
        running(Pn532Reader("nfc", str(chip.link), poll_interval_s=0.02, release_s=0.2)) as lane,
    ):
        chip.place(CLASSIC)
        assert lane.next_read().uid == "DEADBEEF"
        chip.remove()
        polls = len(chip.commands)
        wait_for(lambda: len(chip.commands) > polls + 15)  # well past release_s of empty polls
        chip.place(CLASSIC)
        assert lane.next_read().uid == "DEADBEEF"


def test_silent_chip_is_woken_again(tmp_path: Path) -> None:
    with (
        SimPn532Module(tmp_path / "ttyPN0") as chip,
        running(Pn532Reader("nfc", str(chip.link), poll_interval_s=0.02, response_timeout_s=0.1)) as lane,
    ):
        polling(lane)
        chip.go_silent()
        wait_for(lambda: lane.reader.health().extra["timeouts"] >= 1)
        assert lane.reader.health().last_error
        chip.resume()
        wait_for(lambda: chip.wakeups >= 2)
        polling(lane)
        chip.place(ULTRALIGHT)
        assert lane.next_read().uid == "04123456789ABC"
        assert lane.reader.health().last_error is None


def test_chip_that_stays_silent_makes_the_reader_reopen_the_port(tmp_path: Path) -> None:
    with (
        SimPn532Module(tmp_path / "ttyPN0") as chip,
        running(Pn532Reader("nfc", str(chip.link), poll_interval_s=0.02, response_timeout_s=0.05)) as lane,
    ):
        polling(lane)
        chip.go_silent()
        wait_for(lambda: lane.reader.health().reconnects >= 1)
        assert lane.reader.health().extra["timeouts"] >= 3
        chip.resume()
        polling(lane)
        chip.place(CLASSIC)
        assert lane.next_read().uid == "DEADBEEF"


def test_unplug_and_replug(tmp_path: Path) -> None:
    with (
        SimPn532Module(tmp_path / "ttyPN0") as chip,
        running(Pn532Reader("nfc", str(chip.link), poll_interval_s=0.02)) as lane,
    ):
        polling(lane)
        chip.unplug()
        wait_for(lambda: not lane.reader.health().connected)
        chip.replug()
        wait_for(lambda: lane.reader.health().reconnects == 1)
        polling(lane)
        chip.place(CLASSIC)
        assert lane.next_read().uid == "DEADBEEF"

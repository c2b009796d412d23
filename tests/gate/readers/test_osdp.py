"""OsdpReader on its own: settings, the card-event conversion, the LED/buzzer commands, a missing port.

The reader talking OSDP to a real Peripheral Device is tested end to end in tests/sim/readers/test_osdp_pty.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import osdp
import pytest

from gate.readers.base import ReaderError
from gate.readers.osdp import (
    SC_OFF,
    SC_PENDING,
    OsdpReader,
    buzzer_command,
    card_uid,
    led_command,
    parse_scbk,
)
from tests.sim.readers.lane import wait_for

KEY = bytes(range(16))


def card_event(data: bytes, fmt: int = osdp.CardFormat.Wiegand, bits: int | None = None) -> dict[str, Any]:
    return {
        "event": osdp.Event.CardRead,
        "reader_no": 0,
        "format": fmt,
        "direction": 0,
        "length": 8 * len(data) if bits is None else bits,
        "data": data,
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"address": 127}, "address"),
        ({"address": -1}, "address"),
        ({"scbk": b"too short"}, "16 bytes"),
        ({"scbk": "not hex at all!"}, "not hex"),
        ({"scbk": "0011"}, "16 bytes"),
        ({"baudrate": 1234}, "baud"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ReaderError, match=message):
        OsdpReader("door", "/dev/ttyUSB9", **kwargs)


def test_key_as_hex_text_or_bytes() -> None:
    assert parse_scbk("r", KEY.hex()) == KEY
    assert parse_scbk("r", KEY.hex().upper()) == KEY
    assert parse_scbk("r", KEY) == KEY
    assert parse_scbk("r", None) is None


def test_health_before_start_says_what_is_configured() -> None:
    secure = OsdpReader("door", "/dev/ttyUSB9", address=3, scbk=KEY).health()
    assert secure.protocol == "osdp"
    assert not secure.connected
    assert secure.extra == {"address": 3, "tamper": False, "secure_channel": SC_PENDING, "port_open": False}
    assert OsdpReader("door", "/dev/ttyUSB9").health().extra["secure_channel"] == SC_OFF


@pytest.mark.parametrize("fmt", [osdp.CardFormat.Wiegand, osdp.CardFormat.Unspecified])
def test_raw_card_reads_become_hex_uids(fmt: int) -> None:
    assert card_uid(card_event(bytes.fromhex("0a1b2c3d"), fmt)) == ("0A1B2C3D", bytes.fromhex("0a1b2c3d"))
    assert card_uid(card_event(bytes.fromhex("7b303980"), fmt, bits=26))[0] == "7B303980"


@pytest.mark.parametrize(
    "event",
    [
        card_event(b"0A1B2C3D", osdp.CardFormat.ASCII),
        {**card_event(b"\x01"), "data": b""},
        {**card_event(b"\x01"), "data": None},
        card_event(bytes(17)),
    ],
)
def test_card_reads_we_cannot_use_are_refused(event: dict[str, Any]) -> None:
    with pytest.raises(ReaderError):
        card_uid(event)


def test_led_and_buzzer_commands_show_the_decision() -> None:
    granted, refused = led_command(True), led_command(False)
    assert granted["command"] == osdp.Command.LED
    assert granted["on_color"] == osdp.CommandLEDColor.Green
    assert refused["on_color"] == osdp.CommandLEDColor.Red
    assert granted["temporary"] and granted["timer_count"] == 10
    assert buzzer_command(True)["rep_count"] == 1
    assert buzzer_command(False)["rep_count"] == 2
    assert buzzer_command(True)["command"] == osdp.Command.Buzzer


def test_missing_port_is_health_not_a_crash(tmp_path: Path) -> None:
    reader = OsdpReader("door", str(tmp_path / "no-such-tty"), scbk=KEY)
    reader.start(lambda read: None)
    try:
        wait_for(lambda: (reader.health().last_error or "").startswith("cannot open"))
        reader.show(True)  # returns at once even with no port
        assert not reader.health().connected
        assert not reader.health().extra["port_open"]
        with pytest.raises(ReaderError, match="already running"):
            reader.start(lambda read: None)
    finally:
        reader.stop()

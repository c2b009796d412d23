"""``qaqpa-tools serial`` against simulated readers on real ptys."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from firmware_tools.cli import main
from sim.readers.ascii_line import SimAsciiReader
from sim.readers.em4100 import SimEm4100Module


def _later(action: object, delay: float = 0.5) -> threading.Thread:
    def run() -> None:
        time.sleep(delay)  # let the sniffer open the port first
        action()  # type: ignore[operator]

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_sniff_prints_each_card_in_hex_and_decimal_with_raw(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with SimEm4100Module(tmp_path / "ttyEM0") as module:

        def cards() -> None:
            module.noise(np.random.default_rng(1), 40)  # garbage first: it must not print a card
            module.tap(bytes.fromhex("62E3086CED"))

        sender = _later(cards)
        assert main(["serial", "sniff", str(module.link), "--protocol", "em4100", "--raw", "--count", "1"]) == 0
        sender.join()  # the module finishes its tap before it is unplugged
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
    assert lines == [f"62E3086CED  decimal {0x62E3086CED}  em4100  raw 02 36 32 45 33 30 38 36 43 45 44 30 38 03"]


def test_sniff_ascii_decimal_reader_and_stop_after_seconds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with SimAsciiReader(tmp_path / "ttyUSB0", "decimal") as reader:
        sender = _later(lambda: reader.tap(bytes.fromhex("00BC614E")))
        args = ["serial", "sniff", str(reader.link), "--protocol", "ascii", "--format", "decimal", "--seconds", "3"]
        assert main(args) == 0
        sender.join()
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
    assert lines == ["00BC614E  decimal 12345678  ascii"]


def test_unknown_port_is_reported_not_crashed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "ttyNOPE"
    assert main(["serial", "sniff", str(missing), "--protocol", "em4100", "--seconds", "1.5"]) == 0
    assert "not connected" in capsys.readouterr().out


def test_serial_list_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serial", "list"]) in (0, 1)  # a machine may have no serial ports at all
    assert capsys.readouterr().out

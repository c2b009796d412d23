"""EM4100 end to end: the simulated module on a real pty, the gate's Em4100Reader on the other end."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gate.readers.em4100 import Em4100Reader
from gate.readers.factory import open_reader
from sim.readers.em4100 import SimEm4100Module
from tests.sim.readers.lane import running, wait_for

CARD = bytes.fromhex("62E3086CED")
SENTINEL = bytes.fromhex("0100ABCDEF")  # tapped last: the read after it proves nothing else came before


def test_tap_hold_noise_and_false_frames(tmp_path: Path) -> None:
    with SimEm4100Module(tmp_path / "ttyEM0") as module, running(Em4100Reader("em", str(module.link))) as lane:
        module.tap(CARD)
        read = lane.next_read()
        assert (read.uid, read.protocol, read.raw) == ("62E3086CED", "em4100", b"\x02" + b"62E3086CED08" + b"\x03")

        module.hold(SENTINEL, 1.5)  # ~23 frames: one read
        module.noise(np.random.default_rng(7), 64)
        module.half_frame(CARD)
        module.false_zero_frame()
        module.false_zero_frame()
        module.noise(np.random.default_rng(8), 64)
        module.tap(CARD)
        assert lane.next_read().uid == "0100ABCDEF"
        assert lane.next_read().uid == "62E3086CED"
        assert lane.reads.empty()
        health = lane.reader.health()
        assert health.frames_ok == 3
        assert health.frames_bad >= 3  # the cut frame and the two zero frames at least


def test_unplug_and_replug_reconnects_by_itself(tmp_path: Path) -> None:
    with SimEm4100Module(tmp_path / "ttyEM0") as module:
        reader = open_reader("em", "rdm6300", str(module.link))
        assert isinstance(reader, Em4100Reader)
        with running(reader) as lane:
            module.tap(CARD)
            assert lane.next_read().uid == "62E3086CED"
            module.unplug()
            wait_for(lambda: not reader.health().connected)
            assert reader.health().last_error
            module.replug()
            wait_for(lambda: reader.health().connected and reader.health().reconnects == 1)
            module.tap(SENTINEL)
            assert lane.next_read().uid == "0100ABCDEF"

"""A gate lane with an OSDP reader: a card tapped on the simulated reader → decision → relay, and the
decision shown on the reader's own LED and buzzer over the Secure Channel."""

from __future__ import annotations

from pathlib import Path

import httpx
import osdp
from gpiozero.pins.mock import MockFactory

from gate.controller import GateController
from gate.frames import QueueFrameSource
from gate.readers.osdp import SC_ACTIVE, OsdpReader
from protocol import Reason, SigningKey
from sim.readers.osdp import SimOsdpReader
from tests.gate.server_double import GateApi
from tests.gate.test_card_lane import RESIDENT, seeded
from tests.gate.test_controller import Seen
from tests.gate.world import NOW
from tests.sim.readers.lane import wait_for

KEY = bytes.fromhex("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF")


def test_card_on_the_osdp_reader_opens_the_gate_and_the_reader_shows_it(tmp_path: Path) -> None:
    key = SigningKey.generate("k1")
    config = seeded(tmp_path, key)
    api = GateApi(key)
    api.down = True  # the lane decides offline from what it synced
    pins = MockFactory()
    with SimOsdpReader(tmp_path / "ttyRS485", address=1, scbk=KEY) as sim:
        reader = OsdpReader("turnstile", str(sim.link), address=1, scbk=KEY)
        controller = GateController(
            config,
            frame_source=QueueFrameSource(),
            pin_factory=pins,
            http_client=httpx.Client(transport=api.transport()),
            clock=lambda: float(NOW),
            readers=[reader],
        )
        seen = Seen()
        controller.add_listener(seen)
        controller.start()
        try:
            wait_for(lambda: reader.health().extra["secure_channel"] == SC_ACTIVE)
            sim.tap(bytes.fromhex(RESIDENT))
            [(decision, event)] = seen.wait_for(1)
            assert decision.granted and event.card_uid == RESIDENT
            wait_for(lambda: len(sim.leds()) == 1 and len(sim.buzzers()) == 1)
            assert sim.leds()[0]["on_color"] == osdp.CommandLEDColor.Green
            assert sim.buzzers()[0]["rep_count"] == 1
            pins.pin(17).assert_states([False, True])  # the relay pulsed

            sim.tap(bytes.fromhex("DEADBEEF"))
            assert seen.wait_for(2)[1][0].reason is Reason.UNKNOWN_CARD
            wait_for(lambda: len(sim.leds()) == 2 and len(sim.buzzers()) == 2)
            assert sim.leds()[1]["on_color"] == osdp.CommandLEDColor.Red
            assert sim.buzzers()[1]["rep_count"] == 2

            [health] = controller.status()["readers"]
            assert health["protocol"] == "osdp" and health["connected"]
            assert health["extra"]["secure_channel"] == SC_ACTIVE
        finally:
            controller.close()
            pins.reset()
            pins.close()

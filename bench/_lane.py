"""A gate lane for benchmarks: the real GateController on a fresh store, offline, on gpiozero mock pins."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from gate.config import GateConfig, GateSettings, ServerSettings
from gate.controller import GateController
from gate.frames import QueueFrameSource
from gate.readers.base import CardReader
from protocol import CardColumns, Keyring, ParkSettings, SigningKey, SyncPage

PARK = "bench-park"


def bench_lane(
    workdir: Path, key: SigningKey, readers: Sequence[CardReader] = (), cards: CardColumns | None = None
) -> GateController:
    """A started lane that trusts ``key`` and knows ``cards``; its camera is a frame queue nobody fills."""
    config = GateConfig(
        gate=GateSettings(park=PARK, name="bench", data_dir=workdir),
        # nothing listens on port 9: the sync thread fails fast and backs off, as a gate offline would
        server=ServerSettings(url="http://127.0.0.1:9", device_token="qd_bench", sync_interval_s=3600),
    )
    controller = GateController(config, frame_source=QueueFrameSource(), pin_factory=MockFactory(), readers=readers)
    controller.store.apply_sync_page(
        SyncPage(
            cursor="0",
            complete=True,
            park=ParkSettings(slug=PARK, name="Bench"),
            keys=Keyring([key.public]).to_jwks()["keys"],
            cards=cards or CardColumns(),
        )
    )
    controller.start()
    return controller

"""The child of test_power: a real GateController deciding while big sync pages are applied, until SIGKILL.

Usage: python -m tests.system.power_child DATA_DIR. The controller logs ``event <id>`` after each decision's
relay moved, flushed line by line, so the parent can hold the store to every id logged.
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

import httpx
from gpiozero.pins.mock import MockFactory

from gate.config import GateConfig, GateSettings, RelaySettings, ServerSettings
from gate.controller import GateController
from gate.frames import QueueFrameSource
from gate.store import GateStore
from protocol import PermitColumns, SyncPage, new_permit_id, permit_id_text

PAGE = 20_000


def _heavy_sync(path: Path, stop: threading.Event) -> None:
    store = GateStore(path, durable=False)  # as the sync loop's own connection
    n = 0
    while not stop.is_set():
        ids = [permit_id_text(new_permit_id()) for _ in range(PAGE)]
        n += 1
        store.apply_sync_page(
            SyncPage(
                cursor=str(n),
                complete=True,
                permits=PermitColumns(
                    id=ids, valid_from=[0] * PAGE, valid_until=[2**31] * PAGE, revoked=[False] * PAGE
                ),
            )
        )


def main() -> None:
    data = Path(sys.argv[1])
    config = GateConfig(
        gate=GateSettings(park="power", name="lane", data_dir=data),
        server=ServerSettings(url="http://server.invalid", device_token="t", sync_interval_s=3600),
        relay=RelaySettings(pulse_s=0.01),
    )
    controller = GateController(
        config,
        frame_source=QueueFrameSource(),
        pin_factory=MockFactory(),
        http_client=httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(503))),
    )
    stop = threading.Event()
    threading.Thread(target=_heavy_sync, args=(config.gate.db_path, stop), daemon=True).start()
    # the controller logs "event <id> ..." after the relay moved; a StreamHandler flushes every record
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    i = 0
    while True:
        controller.manual_open(f"power test {i}", people=1)
        i += 1


if __name__ == "__main__":
    main()

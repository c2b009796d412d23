"""SIGKILL a real ``qaqpa-gate run`` process at random moments while it decides and uploads.

After every kill the gate's SQLite file passes ``integrity_check``; every event the gate logged (it logs after
the relay moved) is in its store; and at the end the server holds exactly the gate's events — none lost,
none twice.
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from sim.render import render_empty_frame, render_qr_frame
from sim.server_proc import ServerApi, ServerProcess, read_server_events

pytestmark = pytest.mark.slow

PARK = "crash-park"
KILLS = 8
LOGGED_EVENT = re.compile(r"\bevent ([0-9a-f-]{36}) ")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerApi]]:
    with ServerProcess(tmp_path / "server") as process:
        api = ServerApi(process.url)
        api.login(process.admin_user, process.admin_password)
        yield process, api
        api.close()


def _gate_files(tmp_path: Path, api: ServerApi, url: str) -> Path:
    api.create_park(PARK, "Crash park")
    api.create_gate(PARK, "lane-1", "Lane 1", "entry")
    token = api.device_token(PARK, "lane-1")
    now = int(time.time())
    rng = np.random.default_rng(3)
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(12):
        permit = api.issue_permit(PARK, now - 600, now + 86400, (1 + i % 3, i % 2, 0))
        cv2.imwrite(str(frames / f"{i:03d}a.jpg"), render_qr_frame(permit.token, rng, difficulty="easy"))
        cv2.imwrite(str(frames / f"{i:03d}b.jpg"), render_empty_frame(rng))
    config = tmp_path / "gate.toml"
    config.write_text(
        f"""
[gate]
park = "{PARK}"
name = "lane-1"
direction = "entry"
data_dir = "{tmp_path / "gate"}"
debounce_s = 0.5
passback_timeout_s = 1

[server]
url = "{url}"
device_token = "{token}"
sync_interval_s = 0.3
upload_batch = 7

[camera]
source = "folder"
uri = "{frames}"
fps = 40
loop = true
"""
    )
    return config


def _start_gate(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GPIOZERO_PIN_FACTORY": "mock"}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "gate.cli", "run", "--config", str(config)], stderr=out, stdout=out, env=env
        )


def _gate_events(db: Path) -> tuple[list[str], int]:
    with sqlite3.connect(db) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM events ORDER BY seq")]
        pending = conn.execute("SELECT COUNT(*) FROM events WHERE uploaded_at IS NULL").fetchone()[0]
    return ids, pending


def test_sigkill_loses_and_duplicates_nothing(tmp_path: Path, server: tuple[ServerProcess, ServerApi]) -> None:
    process, api = server
    config = _gate_files(tmp_path, api, process.url)
    db, log = tmp_path / "gate" / "gate.db", tmp_path / "gate.log"
    rng = random.Random(11)
    for _ in range(KILLS):
        gate = _start_gate(config, log)
        time.sleep(rng.uniform(1.0, 3.0))
        gate.send_signal(signal.SIGKILL)
        gate.wait(10)
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # a last, clean run: SIGTERM makes the gate hand its outbox over before it exits
    gate = _start_gate(config, log)
    time.sleep(3.0)
    gate.send_signal(signal.SIGTERM)
    assert gate.wait(30) == 0
    gate_ids, pending = _gate_events(db)

    logged = LOGGED_EVENT.findall(log.read_text())
    process.stop()
    server_ids = [event.id for event in read_server_events(process.db_path)]

    assert len(gate_ids) > KILLS, "the gate should have decided many times between kills"
    assert len(set(gate_ids)) == len(gate_ids)
    assert set(logged) <= set(gate_ids), "an event the relay acted on is missing from the gate's store"
    assert pending == 0
    assert sorted(server_ids) == sorted(gate_ids), "server and gate disagree: lost or duplicated events"

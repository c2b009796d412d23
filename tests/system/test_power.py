"""Power cuts during heavy writes: SIGKILL a gate process many times while sync pages of 20,000 permits are
applied and decisions are recorded. After every kill the store passes ``integrity_check`` and holds every
event whose relay moved (the controller logs an event only after that)."""

from __future__ import annotations

import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

KILLS = 12
LOGGED_EVENT = re.compile(r"^event ([0-9a-f-]{36}) ", re.MULTILINE)


def test_sigkill_during_heavy_writes_keeps_the_store_whole(tmp_path: Path) -> None:
    data = tmp_path / "gate"
    rng = random.Random(5)
    logged: set[str] = set()
    permits_seen = 0
    for kill in range(KILLS):
        log = tmp_path / f"run-{kill}.log"
        with log.open("wb") as out:
            child = subprocess.Popen(
                [sys.executable, "-m", "tests.system.power_child", str(data)], stdout=out, stderr=subprocess.STDOUT
            )
            time.sleep(rng.uniform(1.5, 3.5))
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        logged |= set(LOGGED_EVENT.findall(log.read_text()))
        with sqlite3.connect(data / "gate.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            stored = {row[0] for row in conn.execute("SELECT id FROM events")}
            permits = conn.execute("SELECT count(*) FROM permits").fetchone()[0]
        assert logged <= stored, f"kill {kill}: {len(logged - stored)} events the relay acted on are missing"
        assert permits >= permits_seen  # committed sync chunks stay
        permits_seen = permits
    assert len(logged) > KILLS, "the gate should have decided many times between kills"
    assert permits_seen > 0, "sync pages should have been applied between kills"

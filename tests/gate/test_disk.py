"""Disk safety (gate.disk): a full store keeps the barrier shut and raises the alarm, frees room from counted
uploads, corrupts nothing, and the ranger page says so; retention prunes only uploaded events. A full disk is
simulated with SQLite's ``max_page_count`` on the decision connection."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from gpiozero.pins.mock import MockFactory

from gate.config import GateConfig, GateSettings, RelaySettings, ServerSettings
from gate.controller import GateController
from gate.disk import DAY_S, DiskFullError, DiskGuard
from gate.errors import GateError
from gate.frames import QueueFrameSource
from gate.store import GateStore
from gate.web import create_app
from gate.web.sessions import hash_pin
from protocol import Direction, ParkSettings, SigningKey
from tests.gate.server_double import DEVICE_TOKEN, GateApi
from tests.gate.world import NOW, PARK, sync_page


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.reset()
    factory.close()


def _controller(tmp_path: Path, key: SigningKey, pins: MockFactory, counted_at: int) -> GateController:
    config = GateConfig(
        gate=GateSettings(park=PARK, name="north-1", direction=Direction.ENTRY, data_dir=tmp_path),
        server=ServerSettings(url="http://server.test", device_token=DEVICE_TOKEN),
        relay=RelaySettings(pin=17, pulse_s=0.05),
    )
    with GateStore(config.gate.db_path) as store:
        park = ParkSettings(slug=PARK, name="A", counted_at=counted_at)
        store.apply_sync_page(sync_page("0", keys=[key], park=park))
    return GateController(
        config,
        frame_source=QueueFrameSource(),
        pin_factory=pins,
        http_client=httpx.Client(transport=GateApi(key).transport()),
        clock=lambda: NOW,
    )


def _fill(store: GateStore) -> None:
    pages = store.pragma("page_count")
    store.conn.execute(f"PRAGMA max_page_count = {pages}")


def test_a_full_disk_keeps_the_barrier_shut_and_raises_the_alarm(
    tmp_path: Path, key: SigningKey, pins: MockFactory
) -> None:
    controller = _controller(tmp_path, key, pins, counted_at=0)
    controller.start()
    try:
        for i in range(30):
            controller.manual_open(f"ranger test {i} " + "x" * 300)
        before = controller.store.events()
        pins.pin(17).assert_states([False, True])  # (pulses overlap: one rising edge is enough to know)
        _fill(controller.store)
        with pytest.raises(DiskFullError):
            for i in range(200):  # until the last free page is taken
                controller.manual_open(f"more {i} " + "y" * 400)
        state = controller.status()["disk"]
        assert state["full"] and state["alarm"] and "full" in state["error"]
        assert controller.store.pragma("integrity_check") == "ok"
        stored = controller.store.events()
        assert stored[: len(before)] == before  # nothing written was lost
        assert all(e.note is not None for e in stored)
        # the ranger sees the alarm, and a manual open is refused in the page's language, not pretended
        page = TestClient(create_app(controller, hash_pin("4821")), headers={"Accept-Language": "ru"})
        page.post("/login", data={"pin": "4821"})
        alarm = "Диск заполнен: решения не записываются, шлагбаум остаётся закрытым"
        index = page.get("/").text
        assert alarm in index
        csrf = re.search(r'name="csrf" value="([^"]+)"', index)
        assert csrf is not None
        reason = "скорая помощь " + "я" * 450  # larger than the write that found the disk full
        refused = page.post("/open", data={"csrf": csrf.group(1), "reason": reason})
        assert refused.status_code == 503 and refused.text.count(alarm) == 2  # the form's answer and the status
        assert controller.store.events() == stored
    finally:
        controller.close()


def test_room_is_freed_from_uploaded_and_counted_events(tmp_path: Path, key: SigningKey, pins: MockFactory) -> None:
    controller = _controller(tmp_path, key, pins, counted_at=NOW + 10)
    try:
        for i in range(40):
            controller.manual_open(f"ranger test {i} " + "x" * 400)
        uploaded = [e.id for e in controller.store.events()[:30]]
        controller.store.mark_uploaded(uploaded, at=NOW)  # the server counted them (counted_at later)
        _fill(controller.store)
        for i in range(20):  # more than the free pages hold: room comes from the uploaded events
            controller.manual_open(f"after {i} " + "y" * 400)
        ids = {e.id for e in controller.store.events()}
        assert not ids & set(uploaded)
        assert len(ids) == 30 and controller.disk.state().pruned == 30 and not controller.disk.state().full
        assert controller.store.pragma("integrity_check") == "ok"
    finally:
        controller.close()


def test_retention_prunes_only_uploaded_events(store: GateStore, tmp_path: Path) -> None:
    from gate.credentials import ManualCredential
    from gate.decision import Policy, decide
    from gate.events import make_event

    view = store.view(Policy(park=PARK, direction=Direction.ENTRY))
    view.refresh()
    events = []
    for i in range(6):
        decision = decide(ManualCredential(f"r{i}"), view, NOW)
        event = make_event(decision)
        store.record(decision, event)
        events.append(event.id)
    store.mark_uploaded(events[:2], at=NOW - 40 * DAY_S)
    store.mark_uploaded(events[2:4], at=NOW - 2 * DAY_S)
    guard = DiskGuard(tmp_path, min_free_bytes=0, retention_days=30)
    assert guard.prune(store, now=NOW) == 2
    assert [e.id for e in store.events()] == events[2:]
    assert store.outbox_depth() == 2  # pending events are never pruned, whatever their age


def test_low_free_space_is_an_alarm(tmp_path: Path) -> None:
    guard = DiskGuard(tmp_path, min_free_bytes=1 << 62, retention_days=30)
    state = guard.check()
    assert state.low and state.alarm and not state.full and state.free_bytes > 0
    assert not DiskGuard(tmp_path, min_free_bytes=0, retention_days=30).check().alarm


def test_a_manual_open_on_a_full_disk_tells_the_ranger(tmp_path: Path, key: SigningKey, pins: MockFactory) -> None:
    controller = _controller(tmp_path, key, pins, counted_at=0)
    try:
        _fill(controller.store)
        with pytest.raises(GateError, match="barrier stays closed"):
            for i in range(200):
                controller.manual_open(f"r{i} " + "z" * 400)
    finally:
        controller.close()

"""SyncClient and SyncLoop against the documented API at the HTTP boundary."""

from __future__ import annotations

import random
import time
from pathlib import Path

import httpx
import pytest

from gate.config import GateConfig, GateSettings, ServerSettings
from gate.credentials import QrCredential
from gate.decision import decide
from gate.errors import SyncError
from gate.events import make_event
from gate.store import GateStore
from gate.sync import SyncClient, SyncLoop, backoff_delay
from protocol import SigningKey
from tests.gate.server_double import DEVICE_TOKEN, GateApi
from tests.gate.world import NOW, PARK, entry_policy, make_permit, token


def config(tmp_path: Path, batch: int = 2) -> GateConfig:
    return GateConfig(
        gate=GateSettings(park=PARK, name="north-1", data_dir=tmp_path),
        server=ServerSettings(
            url="http://server.test", device_token=DEVICE_TOKEN, sync_interval_s=0.05, upload_batch=batch
        ),
    )


@pytest.fixture
def api(key: SigningKey) -> GateApi:
    return GateApi(key)


@pytest.fixture
def fresh(tmp_path: Path) -> GateStore:
    return GateStore(tmp_path / "gate.db")


def client_for(api: GateApi, tmp_path: Path, store: GateStore) -> SyncClient:
    return SyncClient(config(tmp_path), store, client=httpx.Client(transport=api.transport()))


def test_pull_pages_until_complete(api: GateApi, tmp_path: Path, fresh: GateStore) -> None:
    permits = [make_permit() for _ in range(5)]
    api.changes = [(p, False) for p in permits]
    sync = client_for(api, tmp_path, fresh)
    result = sync.cycle()
    assert result.pages == 3 and result.permits == 5
    assert sync.online and fresh.sync_state().last_sync_at is not None
    assert all(fresh.lookup(p.id) is not None for p in permits)
    assert fresh.sync_state().cursor == "5"
    assert len(fresh.keyring()) == 1 and fresh.park() == api.park
    sent = api.requests[0]
    assert sent.headers["Accept-Encoding"] == "gzip" and sent.url.params["cursor"] == "0"


def test_revocation_arrives_as_a_new_change(api: GateApi, tmp_path: Path, fresh: GateStore) -> None:
    permit = make_permit()
    api.changes = [(permit, False)]
    sync = client_for(api, tmp_path, fresh)
    sync.cycle()
    api.changes.append((permit, True))
    assert sync.cycle().permits == 1
    listed = fresh.lookup(permit.id)
    assert listed is not None and listed.revoked


def test_push_outbox_in_batches_and_idempotently(
    api: GateApi, tmp_path: Path, store: GateStore, key: SigningKey
) -> None:
    view = store.view(entry_policy())
    view.refresh()
    for _ in range(5):
        decision = decide(QrCredential(token(make_permit(), key)), view, NOW)
        store.record(decision, make_event(decision))
    sync = client_for(api, tmp_path, store)
    assert sync.push() == 5
    posts = [r for r in api.requests if r.method == "POST"]
    assert len(posts) == 3  # batches of 2
    assert store.outbox_depth() == 0 and len(api.events) == 5
    assert {e.id for e in store.events()} == set(api.events)


def test_duplicates_count_as_uploaded(api: GateApi, tmp_path: Path, store: GateStore, key: SigningKey) -> None:
    view = store.view(entry_policy())
    view.refresh()
    decision = decide(QrCredential(token(make_permit(), key)), view, NOW)
    event = make_event(decision)
    store.record(decision, event)
    api.events[event.id] = {}  # the server stored it, but its answer was lost
    assert client_for(api, tmp_path, store).push() == 1
    assert store.outbox_depth() == 0


def test_offline_keeps_the_outbox_and_records_the_error(
    api: GateApi, tmp_path: Path, store: GateStore, key: SigningKey
) -> None:
    view = store.view(entry_policy())
    view.refresh()
    decision = decide(QrCredential(token(make_permit(), key)), view, NOW)
    store.record(decision, make_event(decision))
    api.down = True
    sync = client_for(api, tmp_path, store)
    with pytest.raises(SyncError, match="ConnectError"):
        sync.cycle()
    assert not sync.online and sync.failures == 1
    assert store.outbox_depth() == 1 and "ConnectError" in (store.sync_state().last_error or "")
    api.down = False
    sync.cycle()
    assert sync.online and sync.failures == 0 and store.outbox_depth() == 0


def test_http_errors_and_bad_pages_are_sync_errors(tmp_path: Path, fresh: GateStore) -> None:
    answers = iter([httpx.Response(401, json={"detail": "no"}), httpx.Response(200, content=b"{not json")])
    transport = httpx.MockTransport(lambda request: next(answers))
    sync = SyncClient(config(tmp_path), fresh, transport=transport)
    with pytest.raises(SyncError, match="HTTP 401"):
        sync.cycle()
    with pytest.raises(SyncError, match="not a SyncPage"):
        sync.cycle()
    assert sync.failures == 2 and fresh.sync_state().cursor is None


def test_backoff_doubles_to_a_cap_with_jitter() -> None:
    rng = random.Random(7)
    assert backoff_delay(0) == 0.0
    for failures, base in [(1, 1.0), (2, 2.0), (3, 4.0), (6, 30.0), (100, 30.0)]:
        delay = backoff_delay(failures, rng)
        assert 0.75 * base <= delay <= 1.25 * base


def test_sync_loop_runs_cycles_in_the_background(api: GateApi, tmp_path: Path, fresh: GateStore) -> None:
    permit = make_permit()
    api.changes = [(permit, False)]
    loop = SyncLoop(client_for(api, tmp_path, fresh), interval_s=0.05)
    loop.start()
    try:
        for _ in range(200):
            if fresh.lookup(permit.id) is not None and loop.online:
                break
            loop.wake()
            time.sleep(0.02)
    finally:
        loop.stop()
    assert fresh.lookup(permit.id) is not None and loop.online and loop.cycles >= 1

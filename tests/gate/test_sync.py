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
from protocol import EVENTS_SCHEMA, GateEvent, SigningKey
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


def _record(store: GateStore, key: SigningKey, n: int) -> list[GateEvent]:
    view = store.view(entry_policy())
    view.refresh()
    events = []
    for _ in range(n):
        decision = decide(QrCredential(token(make_permit(), key)), view, NOW)
        event = make_event(decision)
        store.record(decision, event)
        events.append(event)
    return events


def test_an_event_the_server_refuses_is_set_aside_and_the_sync_goes_on(
    api: GateApi, tmp_path: Path, store: GateStore, key: SigningKey
) -> None:
    """Issue 17: one event the server could not take stopped the gate's uploads and, behind them, its pulls."""
    events = _record(store, key, 5)
    poison = events[1]
    api.refuse = lambda event: (
        "note: character U+0000 at position 3 is not allowed in text" if event == poison else None
    )
    revoked = make_permit()
    api.changes = [(revoked, False), (revoked, True)]
    sync = client_for(api, tmp_path, store)
    result = sync.cycle()
    assert (result.uploaded, result.set_aside) == (4, 1) and sync.online and sync.failures == 0
    assert set(api.events) == {e.id for e in events} - {poison.id}
    listed = store.lookup(revoked.id)
    assert listed is not None and listed.revoked  # the revocation came down
    assert store.outbox_depth() == 0 and store.set_aside_count() == 1
    (aside,) = store.set_aside_events()
    assert aside.id == poison.id and aside.reason == (
        "refused by the server: note: character U+0000 at position 3 is not allowed in text"
    )
    summary = store.summary()
    assert summary["set_aside"] == 1 and summary["set_aside_events"][0]["reason"] == aside.reason
    posts = [r for r in api.requests if r.method == "POST"]
    assert all(r.url.params["schema"] == str(EVENTS_SCHEMA) for r in posts)
    sync.cycle()  # never sent again
    assert len([r for r in api.requests if r.method == "POST"]) == len(posts)
    store.prune_uploaded(time.time() + 10**6)  # retention takes what the server has, never what was set aside
    assert [e.id for e in store.set_aside_events()] == [poison.id]


def test_a_server_that_refuses_whole_batches_gets_halves_until_the_bad_event_stands_alone(
    api: GateApi, tmp_path: Path, store: GateStore, key: SigningKey
) -> None:
    """An older server answers 422 for a batch with one bad event: the gate splits it and sets that one aside."""
    events = _record(store, key, 8)
    poison = events[5]
    api.refuse = lambda event: "Value error, the note is not allowed" if event == poison else None
    api.refuse_whole_batch = True
    sync = SyncClient(config(tmp_path, batch=8), store, client=httpx.Client(transport=api.transport()))
    assert sync.push() == 7
    assert set(api.events) == {e.id for e in events} - {poison.id}
    (aside,) = store.set_aside_events()
    assert aside.id == poison.id
    assert aside.reason == "refused by the server (HTTP 422): body.events.0: Value error, the note is not allowed"
    assert len([r for r in api.requests if r.method == "POST"]) == 7  # 8 → 4 + 4 → 2 + 2 → 1 + 1


def test_a_failed_upload_does_not_keep_the_gate_from_its_revocations(
    api: GateApi, tmp_path: Path, store: GateStore, key: SigningKey
) -> None:
    _record(store, key, 2)
    permit = make_permit()
    api.changes = [(permit, False), (permit, True)]
    api.events_status = 500
    sync = client_for(api, tmp_path, store)
    with pytest.raises(SyncError, match=r"^upload: POST /api/v1/gate/events: HTTP 500"):
        sync.cycle()
    listed = store.lookup(permit.id)
    assert listed is not None and listed.revoked
    assert sync.online and sync.failures == 1 and store.outbox_depth() == 2
    assert (store.sync_state().last_error or "").startswith("upload: ")


def test_a_failed_download_does_not_keep_the_events_on_the_gate(
    api: GateApi, tmp_path: Path, store: GateStore, key: SigningKey
) -> None:
    events = _record(store, key, 3)
    api.sync_status = 500
    sync = client_for(api, tmp_path, store)
    with pytest.raises(SyncError, match=r"^download: GET /api/v1/gate/sync: HTTP 500"):
        sync.cycle()
    assert set(api.events) == {e.id for e in events} and store.outbox_depth() == 0
    assert not sync.online and sync.failures == 1


def test_a_long_outbox_goes_up_over_several_cycles_each_with_its_pull(
    api: GateApi, tmp_path: Path, store: GateStore, key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gate.sync.MAX_BATCHES_PER_CYCLE", 2)
    _record(store, key, 5)
    sync = client_for(api, tmp_path, store)  # batches of 2
    first = sync.cycle()
    assert (first.uploaded, first.more, first.pages) == (4, True, 1)
    second = sync.cycle()
    assert (second.uploaded, second.more) == (1, False) and store.outbox_depth() == 0


def test_the_gate_reports_what_it_set_aside_and_sends_less_to_a_server_that_does_not_take_it(
    api: GateApi, tmp_path: Path, store: GateStore, key: SigningKey
) -> None:
    """An older server refuses X-Gate-Status members it does not know (422): the health report must never stop
    the sync that carries revocations, so the gate sends it as the first release did."""
    sync = client_for(api, tmp_path, store)
    sync.gate_status = lambda: {"outbox": 0, "refused": 1, "readers": {"camera": "ok"}}
    sync.cycle()
    assert api.statuses[-1] == {"outbox": 0, "refused": 1, "readers": {"camera": "ok"}}
    api.status_members = {"outbox", "readers", "software"}
    sync.cycle()
    assert api.statuses[-1] == {"outbox": 0, "readers": {"camera": "ok"}} and sync.online
    syncs = len([r for r in api.requests if r.method == "GET"])
    sync.cycle()  # remembered: one request a page again
    assert len([r for r in api.requests if r.method == "GET"]) == syncs + 1


def test_members_a_later_server_adds_to_its_answer_are_ignored(
    api: GateApi, tmp_path: Path, store: GateStore, key: SigningKey
) -> None:
    _record(store, key, 1)
    api.result_extra = {"stored_at": 1_750_000_000, "hint": "a later server's"}
    assert client_for(api, tmp_path, store).push() == 1


def test_an_outbox_row_no_server_would_take_is_set_aside_by_the_gate(
    api: GateApi, tmp_path: Path, store: GateStore, key: SigningKey
) -> None:
    """An older release stored a note with a NUL: it is set aside with the reason, and the rest go up."""
    events = _record(store, key, 3)
    store.conn.execute("UPDATE events SET note = ? WHERE id = ?", ("paper\x00permit", events[0].id))
    assert client_for(api, tmp_path, store).push() == 2
    assert set(api.events) == {e.id for e in events[1:]}
    (aside,) = store.set_aside_events()
    assert aside.id == events[0].id
    assert (
        aside.reason == "not a valid event, so never sent: note: character U+0000 at position 5 is not allowed in text"
    )


def test_an_outbox_row_an_older_release_stored_with_a_typed_plate_still_goes_up(
    api: GateApi, tmp_path: Path, store: GateStore, key: SigningKey
) -> None:
    (event,) = _record(store, key, 1)
    store.conn.execute("UPDATE events SET plate = ?, category = ? WHERE id = ?", ("777 abe 01", "Bus\x00", event.id))
    assert client_for(api, tmp_path, store).push() == 1
    assert (api.events[event.id]["plate"], api.events[event.id]["category"]) == ("777ABE01", None)
    assert store.set_aside_count() == 0

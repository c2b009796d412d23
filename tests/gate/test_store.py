"""GateStore on a real SQLite file: migrations, pragmas, atomic record(), sync pages, the outbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.credentials import QrCredential
from gate.decision import decide, local_day
from gate.errors import StoreError
from gate.events import make_event
from gate.migrations import MIGRATIONS
from gate.store import GateStore, permit_ids_to_bytes
from protocol import CardRole, ParkSettings, PermitColumns, SigningKey, SyncPage, permit_id_text
from tests.gate.world import NOW, PARK, card_page, entry_policy, make_permit, sync_page, token


def test_migrations_are_recorded_and_applied_once(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    with GateStore(path) as store:
        assert store.applied_migrations() == [m.__name__ for m in MIGRATIONS]
    with GateStore(path) as again:
        assert again.migrate() == []
        assert again.applied_migrations() == [m.__name__ for m in MIGRATIONS]


def test_wal_and_synchronous_full(tmp_path: Path) -> None:
    with GateStore(tmp_path / "g.db") as store:
        assert store.pragma("journal_mode") == "wal"
        assert store.pragma("synchronous") == 2  # FULL


def test_permits_table_is_without_rowid(store: GateStore) -> None:
    sql = store.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'permits'").fetchone()[0]
    assert "WITHOUT ROWID" in sql


def test_store_refuses_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    bad = tmp_path / "gate.db"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        GateStore(bad)


def test_record_writes_event_and_usage(store: GateStore, key: SigningKey) -> None:
    view = store.view(entry_policy())
    view.refresh()
    permit = make_permit()
    decision = decide(QrCredential(token(permit, key)), view, NOW)
    event = make_event(decision)
    seq = store.record(decision, event)
    assert seq >= 1
    assert store.events() == [event]
    assert store.pending_events(10) == [event]
    usage = store.usage(permit.id, local_day(NOW, None))
    assert usage.inside and usage.entries_today == 1 and usage.last_entry_at == NOW


def test_record_is_atomic_when_the_event_insert_fails(store: GateStore, key: SigningKey) -> None:
    """A failure after usage was written inside the transaction leaves neither usage nor event."""
    store.conn.execute(
        "CREATE TRIGGER fail_events BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
    )
    view = store.view(entry_policy())
    view.refresh()
    permit = make_permit()
    decision = decide(QrCredential(token(permit, key)), view, NOW)
    with pytest.raises(StoreError, match="disk on fire"):
        store.record(decision, make_event(decision))
    assert store.events() == []
    assert store.conn.execute("SELECT count(*) FROM usage").fetchone()[0] == 0
    assert not store.conn.in_transaction


def test_record_refuses_a_duplicate_event_id(store: GateStore, key: SigningKey) -> None:
    view = store.view(entry_policy())
    view.refresh()
    permit = make_permit()
    decision = decide(QrCredential(token(permit, key)), view, NOW)
    event = make_event(decision)
    store.record(decision, event)
    with pytest.raises(StoreError):
        store.record(decision, event)
    assert len(store.events()) == 1
    assert store.usage(permit.id, local_day(NOW, None)).entries_today == 1


def test_apply_sync_page_upserts_and_revokes(store: GateStore) -> None:
    a, b = make_permit(), make_permit()
    store.apply_sync_page(sync_page("5", [(a, False), (b, False)]))
    assert store.lookup(a.id) is not None and not store.lookup(a.id).revoked  # type: ignore[union-attr]
    store.apply_sync_page(sync_page("6", [(a, True)]))
    listed_a, listed_b = store.lookup(a.id), store.lookup(b.id)
    assert listed_a is not None and listed_a.revoked
    assert listed_b is not None and not listed_b.revoked
    assert store.lookup(make_permit().id) is None
    assert store.sync_state().cursor == "6"
    assert store.summary()["permits"] == 2 and store.summary()["revoked"] == 1


def test_apply_sync_page_replaces_keys_and_park(store: GateStore, key: SigningKey) -> None:
    other = SigningKey.generate("k2")
    park = ParkSettings(slug=PARK, name="Altyn-Emel", capacity=100)
    store.apply_sync_page(sync_page("7", keys=[other], park=park))
    assert [jwk["kid"] for jwk in store.keyring().to_jwks()["keys"]] == ["k2"]
    assert store.park() == park


def test_bad_page_changes_nothing(store: GateStore) -> None:
    good = make_permit()
    bad_ids = PermitColumns(
        id=[good.id_text, "not-a-permit-id!"], valid_from=[1, 1], valid_until=[2, 2], revoked=[0, 0]
    )
    with pytest.raises(StoreError):
        store.apply_sync_page(SyncPage(cursor="9", complete=True, permits=bad_ids))
    with pytest.raises(StoreError):
        store.apply_sync_page(SyncPage(cursor="9", complete=True, keys=[{"kty": "RSA", "kid": "x"}]))
    assert store.lookup(good.id) is None
    assert store.sync_state().cursor == "1"
    assert len(store.keyring()) == 1


def test_permit_ids_to_bytes_matches_protocol() -> None:
    ids = [make_permit().id for _ in range(100)]
    assert permit_ids_to_bytes([permit_id_text(i) for i in ids]) == ids
    with pytest.raises(StoreError):
        permit_ids_to_bytes(["0" * 16])  # '0' is not in the base32 alphabet


def test_outbox_pending_and_mark_uploaded(store: GateStore, key: SigningKey) -> None:
    view = store.view(entry_policy())
    view.refresh()
    events = []
    for _ in range(5):
        decision = decide(QrCredential(token(make_permit(), key)), view, NOW)
        event = make_event(decision)
        store.record(decision, event)
        events.append(event)
    assert store.pending_events(3) == events[:3]
    assert store.mark_uploaded([e.id for e in events[:3]]) == 3
    assert store.mark_uploaded([events[0].id]) == 0  # already marked: idempotent
    assert store.pending_events(10) == events[3:]
    assert store.outbox_depth() == 2


def test_sync_writer_and_decision_reader_use_separate_connections(tmp_path: Path, key: SigningKey) -> None:
    path = tmp_path / "g.db"
    with GateStore(path) as decider, GateStore(path) as syncer:
        view = decider.view(entry_policy())
        view.refresh()
        assert len(view.keyring) == 0
        syncer.apply_sync_page(sync_page(keys=[key], park=ParkSettings(slug=PARK, name="A")))
        view.refresh()  # sees the other connection's commit
        assert len(view.keyring) == 1 and view.park is not None


def test_note_sync(store: GateStore) -> None:
    store.note_sync(False, "connection refused", at=100.0)
    state = store.sync_state()
    assert state.last_error == "connection refused" and state.last_sync_at is None and state.last_attempt_at == 100.0
    store.note_sync(True, at=200.0)
    state = store.sync_state()
    assert state.last_error is None and state.last_sync_at == 200.0


def test_sqlite_errors_are_store_errors(tmp_path: Path) -> None:
    store = GateStore(tmp_path / "g.db")
    store.close()
    with pytest.raises(StoreError):
        store.note_sync(True)


def test_a_holder_synced_with_control_characters_is_kept_cleaned_and_the_card_still_applies(store: GateStore) -> None:
    """A card holder's name with a NUL (issue 17) is cleaned, not refused: the row withdraws the card all the same."""
    page = card_page("2", [("0A1B2C3D", CardRole.STAFF, True)])
    store.apply_sync_page(page.model_copy(update={"cards": page.cards.model_copy(update={"holder": ["Aidos"]})}))
    withdrawn = card_page("3", [("0A1B2C3D", CardRole.STAFF, False)])
    holder = ["Ai\x00dos \u202eevil" + "x" * 300]
    store.apply_sync_page(withdrawn.model_copy(update={"cards": withdrawn.cards.model_copy(update={"holder": holder})}))
    card = store.lookup_card("0A1B2C3D")
    assert card is not None and not card.active
    assert card.holder == "Ai\ufffddos \ufffdevil" + "x" * 188  # 200 characters, every one printable


def test_set_aside_events_leave_the_outbox_and_are_never_pruned(store: GateStore, key: SigningKey) -> None:
    view = store.view(entry_policy())
    view.refresh()
    events = []
    for _ in range(3):
        decision = decide(QrCredential(token(make_permit(), key)), view, NOW)
        events.append(make_event(decision))
        store.record(decision, events[-1])
    park = store.park()
    assert park is not None and store.local_counts(park, local_day(NOW, park))[0] == 9
    assert store.set_aside([(events[0].id, "refused by the server: because")], at=100.0) == 1
    assert store.local_counts(park, local_day(NOW, park))[0] == 6  # no server counts it: nor does the gate
    assert store.set_aside([(events[0].id, "again")]) == 0  # already set aside: kept as it was
    assert store.pending_events(10) == events[1:] and store.outbox_depth() == 2
    assert store.mark_uploaded([e.id for e in events[1:]], at=200.0) == 2
    assert store.prune_uploaded(10**12) == 2
    (aside,) = store.set_aside_events()
    assert (aside.id, aside.reason, aside.refused_at) == (events[0].id, "refused by the server: because", 100.0)
    assert store.summary()["set_aside"] == 1 and store.summary()["outbox"] == 0
    # the server was fixed to take it: a technician puts it back (qaqpa-gate resend), uploaded ones stay done
    assert store.resend_set_aside(["no-such-id"]) == 0
    assert store.resend_set_aside() == 1
    assert store.pending_events(10) == [events[0]] and store.set_aside_events() == []

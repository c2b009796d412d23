"""Cards at the gate: the synced list in the store, and decide() for every card reason on both lanes."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.credentials import CardCredential
from gate.decision import Decision, ListedCard, Policy, decide
from gate.errors import StoreError
from gate.events import make_event
from gate.store import GateStore
from protocol import CardColumns, CardRole, CredentialKind, Direction, ParkSettings, Reason, SyncPage
from tests.gate.world import NOW, PARK, card_page, entry_policy, exit_policy

RANGER, RESIDENT = "0A1B2C3D4E", "04A1B2C3D4E5F6"


def present(store: GateStore, uid: str, policy: Policy | None = None, now: float = NOW) -> Decision:
    view = store.view(policy or entry_policy())
    view.refresh()
    decision = decide(CardCredential(uid), view, now)
    store.record(decision, make_event(decision))
    return decision


@pytest.fixture
def cards(store: GateStore) -> GateStore:
    store.apply_sync_page(card_page("2", [(RANGER, CardRole.RANGER, True), (RESIDENT, CardRole.RESIDENT, True)]))
    return store


def test_the_store_keeps_synced_cards_and_later_changes(cards: GateStore) -> None:
    assert cards.lookup_card(RANGER) == ListedCard(f"holder of {RANGER}", CardRole.RANGER, 0, 2**40, True)
    assert cards.lookup_card("FFFF") is None
    cards.apply_sync_page(card_page("3", [(RANGER, CardRole.GUIDE, False)]))
    assert cards.lookup_card(RANGER) == ListedCard(f"holder of {RANGER}", CardRole.GUIDE, 0, 2**40, False)
    summary = cards.summary()
    assert (summary["cards"], summary["cards_active"], summary["cursor"]) == (2, 1, "3")


@pytest.mark.parametrize("uid", ["0a1b2c3d4e", "0A:1B", "XYZ"])
def test_a_page_with_a_uid_not_in_canonical_form_changes_nothing(store: GateStore, uid: str) -> None:
    page = card_page("9", [(RANGER, CardRole.STAFF, True), (uid, CardRole.STAFF, True)])
    with pytest.raises(StoreError, match="card uid"):
        store.apply_sync_page(page)
    assert store.lookup_card(RANGER) is None
    assert store.sync_state().cursor == "1"


def test_the_card_tables_come_by_migration(tmp_path: Path) -> None:
    with GateStore(tmp_path / "g.db") as store:
        assert store.applied_migrations()[:2] == ["m001_initial", "m002_cards"]
        assert store.migrate() == []


def test_staff_are_logged_not_counted(cards: GateStore) -> None:
    decision = present(cards, RANGER)
    assert (decision.reason, decision.granted, decision.people) == (Reason.GRANTED, True, 0)
    event = make_event(decision)
    assert (event.credential, event.card_uid, event.category, event.people) == (
        CredentialKind.CARD,
        RANGER,
        "ranger",
        0,
    )
    assert event.permit_id is None
    stored = cards.events()[-1]  # what the outbox will upload
    assert (stored.credential, stored.card_uid, stored.category, stored.people) == (
        CredentialKind.CARD,
        RANGER,
        "ranger",
        0,
    )


def test_residents_count_as_visitors(cards: GateStore) -> None:
    decision = present(cards, "04:a1:b2:c3:d4:e5:f6")  # as some readers print it
    assert (decision.reason, decision.people, decision.card_uid) == (Reason.GRANTED, 1, RESIDENT)
    assert make_event(decision).category == "resident"
    park = ParkSettings(slug=PARK, name="Altyn-Emel")
    assert cards.local_counts(park, decision.day) == (1, 1)


def test_unknown_and_unreadable_cards(cards: GateStore) -> None:
    for uid in ("DEADBEEF", "", "not hex", "ABC"):
        decision = present(cards, uid)
        assert decision.reason is Reason.UNKNOWN_CARD and not decision.granted and decision.people == 0
        assert make_event(decision).category is None


def test_a_deactivated_or_withdrawn_card_is_revoked(cards: GateStore) -> None:
    cards.apply_sync_page(card_page("3", [(RANGER, CardRole.RANGER, False)]))
    decision = present(cards, RANGER)
    assert decision.reason is Reason.REVOKED and not decision.granted
    assert make_event(decision).category == "ranger"


def test_validity_window_with_skew(store: GateStore) -> None:
    window = (NOW + 301, NOW + 9000)
    store.apply_sync_page(card_page("2", [(RANGER, CardRole.STAFF, True)], valid=window))
    assert present(store, RANGER).reason is Reason.NOT_YET_VALID
    store.apply_sync_page(card_page("3", [(RANGER, CardRole.STAFF, True)], valid=(NOW + 299, NOW + 9000)))
    assert present(store, RANGER).granted
    store.apply_sync_page(card_page("4", [(RESIDENT, CardRole.RESIDENT, True)], valid=(0, NOW - 301)))
    assert present(store, RESIDENT).reason is Reason.EXPIRED
    store.apply_sync_page(card_page("5", [(RESIDENT, CardRole.RESIDENT, True)], valid=(0, NOW - 299)))
    assert present(store, RESIDENT).granted


def test_anti_passback_until_exit_or_timeout(cards: GateStore) -> None:
    assert present(cards, RANGER).granted
    again = present(cards, RANGER, now=NOW + 60)
    assert again.reason is Reason.ALREADY_INSIDE and again.people == 0
    out = present(cards, RANGER, exit_policy(), now=NOW + 120)
    assert (out.reason, out.direction, out.people) == (Reason.GRANTED, Direction.EXIT, 0)
    assert present(cards, RANGER, now=NOW + 180).granted
    assert present(cards, RANGER, now=NOW + 180 + 43200).granted  # the passback timeout passed


def test_exit_lets_out_any_listed_card_but_not_an_unknown_one(cards: GateStore) -> None:
    cards.apply_sync_page(card_page("3", [(RESIDENT, CardRole.RESIDENT, False)]))
    out = present(cards, RESIDENT, exit_policy())
    assert (out.reason, out.granted, out.people) == (Reason.GRANTED, True, 1)
    assert present(cards, "DEADBEEF", exit_policy()).reason is Reason.UNKNOWN_CARD


def test_capacity_holds_residents_back_but_not_staff(cards: GateStore) -> None:
    cards.apply_sync_page(
        SyncPage(cursor="3", complete=True, park=ParkSettings(slug=PARK, name="A", capacity=5, occupancy=5))
    )
    full = present(cards, RESIDENT)
    assert full.reason is Reason.CAPACITY_FULL and full.people == 0
    assert present(cards, RANGER).granted
    cards.apply_sync_page(
        SyncPage(
            cursor="4",
            complete=True,
            park=ParkSettings(slug=PARK, name="A", daily_quota=10, entries_today=10, counted_at=NOW),
        )
    )
    assert present(cards, RESIDENT).reason is Reason.CAPACITY_FULL


def test_a_decision_reads_the_list_only(cards: GateStore) -> None:
    # decide() is pure: the same inputs give the same decision, and it writes nothing itself
    view = cards.view(entry_policy())
    view.refresh()
    before = cards.summary()
    first = decide(CardCredential(RANGER), view, NOW)
    assert decide(CardCredential(RANGER), view, NOW) == first
    assert cards.summary() == before


def test_card_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        CardColumns(uid=["AA"], holder=[], role=[], valid_from=[], valid_until=[], active=[])

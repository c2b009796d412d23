"""decide() on both lanes: every reason code, read from a real store."""

from __future__ import annotations

from gate.credentials import CardCredential, PlateCredential, QrCredential
from gate.decision import Decision, Load, decide, local_day
from gate.events import make_event
from gate.store import GateStore
from protocol import Direction, ParkSettings, Reason, SigningKey, ZoneSettings
from tests.gate.world import NOW, PARK, entry_policy, exit_policy, make_permit, sync_page, token


def enter(store: GateStore, text: str, now: float = NOW) -> Decision:
    view = store.view(entry_policy())
    view.refresh()
    decision = decide(QrCredential(text), view, now)
    store.record(decision, make_event(decision))
    return decision


def leave(store: GateStore, text: str, now: float = NOW) -> Decision:
    view = store.view(exit_policy())
    view.refresh()
    decision = decide(QrCredential(text), view, now)
    store.record(decision, make_event(decision))
    return decision


def test_granted_when_listed(store: GateStore, key: SigningKey) -> None:
    permit = make_permit()
    store.apply_sync_page(sync_page("2", [(permit, False)]))
    decision = enter(store, token(permit, key))
    assert decision.reason is Reason.GRANTED
    assert decision.granted and decision.people == 3 and decision.permit == permit
    assert decision.flags == ()


def test_granted_unlisted_when_signed_but_not_synced(store: GateStore, key: SigningKey) -> None:
    decision = enter(store, token(make_permit(), key))
    assert decision.reason is Reason.GRANTED_UNLISTED
    assert decision.granted and decision.flags == ("unlisted",)
    assert make_event(decision).flags == ["unlisted"]


def test_malformed(store: GateStore) -> None:
    for text in ("", "hello", "PK1:", "PK1:!!!", "PK1:" + "A" * 2000, "https://example.org/"):
        decision = enter(store, text)
        assert decision.reason is Reason.MALFORMED and not decision.granted and decision.permit is None


def test_unknown_key(store: GateStore) -> None:
    decision = enter(store, token(make_permit(), SigningKey.generate("stranger")))
    assert decision.reason is Reason.UNKNOWN_KEY


def test_bad_signature_same_kid_other_key(store: GateStore) -> None:
    impostor = SigningKey.generate("k1")
    assert enter(store, token(make_permit(), impostor)).reason is Reason.BAD_SIGNATURE


def test_wrong_park(store: GateStore, key: SigningKey) -> None:
    decision = enter(store, token(make_permit(park="charyn"), key))
    assert decision.reason is Reason.WRONG_PARK and not decision.granted


def test_validity_window_with_skew(store: GateStore, key: SigningKey) -> None:
    early = make_permit(valid_from=NOW + 301, valid_until=NOW + 9000)
    assert enter(store, token(early, key)).reason is Reason.NOT_YET_VALID
    within_skew = make_permit(valid_from=NOW + 299, valid_until=NOW + 9000)
    assert enter(store, token(within_skew, key)).granted
    late = make_permit(valid_from=NOW - 9000, valid_until=NOW - 301)
    assert enter(store, token(late, key)).reason is Reason.EXPIRED
    just_late = make_permit(valid_from=NOW - 9000, valid_until=NOW - 299)
    assert enter(store, token(just_late, key)).granted


def test_revoked(store: GateStore, key: SigningKey) -> None:
    permit = make_permit()
    store.apply_sync_page(sync_page("2", [(permit, True)]))
    assert enter(store, token(permit, key)).reason is Reason.REVOKED


def test_already_inside_until_exit_or_timeout(store: GateStore, key: SigningKey) -> None:
    text = token(make_permit(valid_until=NOW + 5 * 86400), key)
    assert enter(store, text).granted
    assert enter(store, text, NOW + 60).reason is Reason.ALREADY_INSIDE
    # the passback timeout lets a visitor in again when the exit was never seen
    assert enter(store, text, NOW + 43200 + 1).granted
    assert leave(store, text, NOW + 43300).granted
    assert enter(store, text, NOW + 43400).granted


def test_entries_used_per_park_local_day(store: GateStore, key: SigningKey) -> None:
    text = token(make_permit(entries_per_day=1, valid_until=NOW + 5 * 86400), key)
    assert enter(store, text).granted
    assert leave(store, text, NOW + 60).granted
    assert enter(store, text, NOW + 120).reason is Reason.ENTRIES_USED
    # NOW is 20:06 park time; at 00:10 the next park-local day starts a new count
    next_day = NOW + 4 * 3600 + 10 * 60
    assert local_day(next_day, None) != local_day(NOW, None)
    assert enter(store, text, next_day).granted


def test_capacity_full_people_inside(store: GateStore, key: SigningKey) -> None:
    park = ParkSettings(slug=PARK, name="A", capacity=5, occupancy=3, counted_at=NOW - 10)
    store.apply_sync_page(sync_page("2", park=park))
    assert enter(store, token(make_permit(party=(2, 0, 0)), key)).granted  # 3 + 2 = 5
    decision = enter(store, token(make_permit(party=(1, 0, 0)), key))
    assert decision.reason is Reason.CAPACITY_FULL and decision.people == 0
    # someone leaves: room again, as far as the gate knows
    first_out = make_permit(party=(1, 0, 0))
    assert leave(store, token(first_out, key)).granted
    assert enter(store, token(make_permit(party=(1, 0, 0)), key)).granted


def test_capacity_full_daily_quota(store: GateStore, key: SigningKey) -> None:
    park = ParkSettings(slug=PARK, name="A", daily_quota=10, entries_today=9, counted_at=NOW - 10)
    store.apply_sync_page(sync_page("2", park=park))
    assert enter(store, token(make_permit(party=(2, 0, 0)), key)).reason is Reason.CAPACITY_FULL
    assert enter(store, token(make_permit(party=(1, 0, 0)), key)).granted
    assert enter(store, token(make_permit(party=(1, 0, 0)), key)).reason is Reason.CAPACITY_FULL


def test_quota_snapshot_of_yesterday_does_not_count_today(store: GateStore, key: SigningKey) -> None:
    park = ParkSettings(slug=PARK, name="A", daily_quota=10, entries_today=10, counted_at=NOW - 86400)
    store.apply_sync_page(sync_page("2", park=park))
    assert enter(store, token(make_permit(), key)).granted


def test_a_gate_in_a_zone_applies_the_zones_limits_and_the_parks(store: GateStore, key: SigningKey) -> None:
    zone = ZoneSettings(slug="canyon", name="Canyon", capacity=4, daily_quota=6, occupancy=1, entries_today=3)
    park = ParkSettings(
        slug=PARK, name="A", capacity=100, daily_quota=10, occupancy=50, entries_today=5, counted_at=NOW - 10, zone=zone
    )
    car = make_permit(plate="123ABC02", party=(3, 0, 0))
    store.apply_sync_page(sync_page("2", [(car, False)], park=park, plates=True))
    four = enter(store, token(make_permit(party=(4, 0, 0)), key))
    assert (four.reason, four.detail) == (Reason.CAPACITY_FULL, "zone canyon: 1 inside, capacity 4")
    assert enter(store, token(make_permit(party=(2, 0, 0)), key)).granted  # zone: 3 inside, 5 today
    view = store.view(entry_policy())
    view.refresh()
    by_plate = decide(PlateCredential("123ABC02"), view, NOW)
    assert (by_plate.reason, by_plate.detail) == (Reason.CAPACITY_FULL, "zone canyon: 3 inside, capacity 4")
    one = enter(store, token(make_permit(party=(1, 0, 0)), key))
    assert one.granted
    assert store.local_loads(park, one.day) == [Load("park", 53, 8, 100, 10), Load("zone canyon", 4, 6, 4, 6)]
    full = enter(store, token(make_permit(party=(1, 0, 0)), key))
    assert (full.reason, full.detail) == (Reason.CAPACITY_FULL, "zone canyon: 4 inside, capacity 4")
    # two leave: the park's quota is checked first, then the zone's though its people-at-one-time has room
    assert leave(store, token(make_permit(party=(2, 0, 0)), key)).granted
    store.apply_sync_page(sync_page("3", park=park.model_copy(update={"daily_quota": 8})))
    by_park = enter(store, token(make_permit(party=(1, 0, 0)), key))
    assert (by_park.reason, by_park.detail) == (Reason.CAPACITY_FULL, "park: 8 entered today, quota 8")
    store.apply_sync_page(sync_page("4", park=park.model_copy(update={"daily_quota": 0})))
    by_zone = enter(store, token(make_permit(party=(1, 0, 0)), key))
    assert (by_zone.reason, by_zone.detail) == (Reason.CAPACITY_FULL, "zone canyon: 6 entered today, quota 6")


def test_unlisted_cards_and_plates_are_unknown(store: GateStore) -> None:
    view = store.view(entry_policy())
    assert decide(CardCredential("0A1B2C3D"), view, NOW).reason is Reason.UNKNOWN_CARD
    assert decide(PlateCredential("123ABC02"), view, NOW).reason is Reason.UNKNOWN_PLATE


def test_exit_lets_out_expired_and_revoked(store: GateStore, key: SigningKey) -> None:
    expired = make_permit(valid_from=NOW - 9000, valid_until=NOW - 5000)
    revoked = make_permit()
    store.apply_sync_page(sync_page("2", [(revoked, True), (expired, False)]))
    out = leave(store, token(expired, key))
    assert out.reason is Reason.GRANTED and out.direction is Direction.EXIT and out.people == 3
    assert leave(store, token(revoked, key)).reason is Reason.GRANTED
    assert leave(store, token(make_permit(), key)).reason is Reason.GRANTED_UNLISTED


def test_exit_still_refuses_what_is_not_a_permit_of_this_park(store: GateStore, key: SigningKey) -> None:
    assert leave(store, "hello").reason is Reason.MALFORMED
    assert leave(store, token(make_permit(), SigningKey.generate("x"))).reason is Reason.UNKNOWN_KEY
    assert leave(store, token(make_permit(), SigningKey.generate("k1"))).reason is Reason.BAD_SIGNATURE
    assert leave(store, token(make_permit(park="charyn"), key)).reason is Reason.WRONG_PARK


def test_exit_sets_usage_outside(store: GateStore, key: SigningKey) -> None:
    permit = make_permit()
    text = token(permit, key)
    enter(store, text)
    day = local_day(NOW, None)
    assert store.usage(permit.id, day).inside
    leave(store, text, NOW + 10)
    usage = store.usage(permit.id, day)
    assert not usage.inside and usage.entries_today == 1


def test_decide_is_pure(store: GateStore, key: SigningKey) -> None:
    view = store.view(entry_policy())
    view.refresh()
    credential = QrCredential(token(make_permit(), key))
    assert decide(credential, view, NOW) == decide(credential, view, NOW)
    assert store.events() == []  # deciding wrote nothing

"""Vehicle lanes in the store and in decide(): permits by plate, vehicle passes, the plate/QR cross-check,
and a ranger's manual open."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from gate.credentials import ManualCredential, PlateCredential, QrCredential
from gate.decision import PLATE_PEOPLE, Decision, decide
from gate.errors import StoreError
from gate.events import make_event
from gate.store import GateStore
from protocol import CredentialKind, ParkSettings, PermitColumns, Reason, SigningKey, SyncPage
from tests.gate.world import NOW, PARK, entry_policy, exit_policy, make_permit, pass_page, sync_page, token

CAR = "123ABC02"
OTHER_CAR = "777ABE01"


def at_lane(
    store: GateStore,
    credential: PlateCredential | QrCredential | ManualCredential,
    now: float = NOW,
    exit_: bool = False,
    window_s: float = 0.0,
) -> Decision:
    """Decide as a lane would and record what the controller records (a repeat is not a new decision)."""
    policy = exit_policy() if exit_ else entry_policy()
    view = store.view(dataclasses.replace(policy, vehicle_window_s=window_s))
    view.refresh()
    decision = decide(credential, view, now)
    if not decision.repeat:
        store.record(decision, make_event(decision))
    return decision


def test_the_store_keeps_plates_and_passes(store: GateStore) -> None:
    assert "m003_vehicles" in store.applied_migrations()
    car, walker = make_permit(plate=CAR), make_permit()
    revoked, late = make_permit(plate=CAR), make_permit(plate=CAR, valid_from=NOW + 3600, valid_until=NOW + 7200)
    store.apply_sync_page(sync_page("2", [(car, False), (walker, False), (revoked, True), (late, False)], plates=True))
    assert {p.id for p in store.plate_permits(CAR)} == {car.id, revoked.id, late.id}
    assert [p.id for p in store.permits_for_plate(CAR, NOW)] == [car.id]
    assert {p.id for p in store.permits_for_plate(CAR, NOW + 3600 - 60, skew_s=300)} == {car.id, late.id}
    assert store.permits_for_plate(OTHER_CAR, NOW) == []
    plan = " ".join(
        str(row) for row in store.conn.execute("EXPLAIN QUERY PLAN SELECT id FROM permits WHERE plate = ?", (CAR,))
    )
    assert "permits_plate" in plan
    # a page without the plate column (pedestrian permits only) leaves plates empty, as upserts replace rows
    store.apply_sync_page(sync_page("3", [(walker, False)]))
    assert store.lookup(walker.id) is not None
    store.apply_sync_page(pass_page("4", [(OTHER_CAR, "minibus", True), ("555XYZ03", "car", False)]))
    found = store.vehicle_pass(OTHER_CAR)
    assert found is not None and (found.vehicle_class, found.active) == ("minibus", True)
    assert store.vehicle_pass(CAR) is None
    summary = store.summary()
    assert (summary["vehicle_passes"], summary["vehicle_passes_active"]) == (2, 1)


def test_a_page_with_a_plate_not_in_normal_form_changes_nothing(store: GateStore) -> None:
    bad_permit = SyncPage(
        cursor="9",
        complete=True,
        permits=PermitColumns(
            id=[make_permit().id_text], valid_from=[0], valid_until=[1], revoked=[False], plate=["123 abc 02"]
        ),
    )
    for page in (bad_permit, pass_page("9", [("123-ABC-02", "car", True)]), pass_page("9", [("", "car", True)])):
        with pytest.raises(StoreError, match="plate not in normalised form"):
            store.apply_sync_page(page)
    assert store.sync_state().cursor == "1"
    assert store.summary()["permits"] == 0 and store.summary()["vehicle_passes"] == 0


def test_a_listed_vehicle_permit_admits_its_plate(store: GateStore) -> None:
    car = make_permit(plate=CAR, valid_until=NOW + 5 * 86400)
    store.apply_sync_page(sync_page("2", [(car, False)], plates=True))
    decision = at_lane(store, PlateCredential(CAR, 0.93, "KZ"))
    assert (decision.reason, decision.granted, decision.people) == (Reason.GRANTED, True, 3)  # the party
    event = make_event(decision)
    assert (event.credential, event.plate, event.permit_id) == (CredentialKind.PLATE, CAR, car.id_text)
    # anti-passback on the permit, whether its QR or its plate comes next
    assert at_lane(store, PlateCredential(CAR), NOW + 60).reason is Reason.ALREADY_INSIDE
    assert at_lane(store, QrCredential(token(car, SigningKey.generate("x")))).reason is Reason.UNKNOWN_KEY
    out = at_lane(store, PlateCredential(CAR), NOW + 120, exit_=True)
    assert out.granted and out.permit_id == car.id
    assert at_lane(store, PlateCredential(CAR), NOW + 180).granted


def test_plates_without_a_valid_permit(store: GateStore) -> None:
    expired = make_permit(plate=CAR, valid_from=NOW - 9000, valid_until=NOW - 301)
    revoked = make_permit(plate=OTHER_CAR)
    early = make_permit(plate="555XYZ03", valid_from=NOW + 301, valid_until=NOW + 9000)
    store.apply_sync_page(sync_page("2", [(expired, False), (revoked, True), (early, False)], plates=True))
    assert at_lane(store, PlateCredential(CAR)).reason is Reason.EXPIRED
    assert at_lane(store, PlateCredential(OTHER_CAR)).reason is Reason.REVOKED
    assert at_lane(store, PlateCredential("555XYZ03")).reason is Reason.NOT_YET_VALID
    unknown = at_lane(store, PlateCredential("100KLM10"))
    assert (unknown.reason, unknown.granted, unknown.people) == (Reason.UNKNOWN_PLATE, False, 0)
    assert make_event(unknown).plate == "100KLM10"
    assert at_lane(store, PlateCredential("---")).reason is Reason.UNKNOWN_PLATE
    # one good permit among bad ones admits: a car booked again after its last permit ran out
    store.apply_sync_page(sync_page("3", [(make_permit(plate=CAR), False)], plates=True))
    assert at_lane(store, PlateCredential(CAR)).granted
    # the exit never traps a car the park listed, even on an expired permit
    assert at_lane(store, PlateCredential("555XYZ03"), exit_=True).granted
    assert at_lane(store, PlateCredential("100KLM10"), exit_=True).reason is Reason.UNKNOWN_PLATE


def test_a_vehicle_pass_admits_its_plate(store: GateStore) -> None:
    store.apply_sync_page(
        pass_page("2", [(CAR, "minibus", True), (OTHER_CAR, "car", False)], valid=(NOW - 10, NOW + 10**6))
    )
    decision = at_lane(store, PlateCredential(CAR))
    assert (decision.reason, decision.people, decision.category) == (Reason.GRANTED, PLATE_PEOPLE, "minibus")
    event = make_event(decision)
    assert (event.plate, event.category, event.permit_id) == (CAR, "minibus", None)
    assert at_lane(store, PlateCredential(CAR), NOW + 60).reason is Reason.ALREADY_INSIDE
    assert at_lane(store, PlateCredential(CAR), NOW + 120, exit_=True).granted
    assert at_lane(store, PlateCredential(CAR), NOW + 180).granted
    assert at_lane(store, PlateCredential(OTHER_CAR)).reason is Reason.REVOKED
    store.apply_sync_page(pass_page("3", [("555XYZ03", "car", True)], valid=(NOW + 1000, NOW + 2000)))
    assert at_lane(store, PlateCredential("555XYZ03")).reason is Reason.NOT_YET_VALID
    assert at_lane(store, PlateCredential("555XYZ03"), NOW + 3000).reason is Reason.EXPIRED


def test_capacity_holds_for_plates(store: GateStore) -> None:
    park = ParkSettings(slug=PARK, name="A", capacity=1, occupancy=1, counted_at=NOW - 10)
    store.apply_sync_page(sync_page("2", [(make_permit(plate=CAR), False)], park=park, plates=True))
    store.apply_sync_page(pass_page("3", [(OTHER_CAR, "car", True)]))
    assert at_lane(store, PlateCredential(CAR)).reason is Reason.CAPACITY_FULL
    assert at_lane(store, PlateCredential(OTHER_CAR)).reason is Reason.CAPACITY_FULL


def test_a_permit_qr_is_checked_against_the_car_it_is_shown_in(store: GateStore, key: SigningKey) -> None:
    car = make_permit(plate=CAR, valid_until=NOW + 5 * 86400)
    text = token(car, key)
    mismatch = at_lane(store, QrCredential(text, plate=OTHER_CAR))
    assert (mismatch.reason, mismatch.granted, mismatch.plate) == (Reason.PLATE_MISMATCH, False, OTHER_CAR)
    assert make_event(mismatch).permit_id == car.id_text
    same = at_lane(store, QrCredential(text, plate=CAR))
    assert same.reason is Reason.GRANTED_UNLISTED and same.people == 3 and make_event(same).plate == CAR
    # no plate read: the permit admits as any QR, its event naming the permit's car
    other = make_permit(plate=OTHER_CAR)
    assert make_event(at_lane(store, QrCredential(token(other, key)))).plate == OTHER_CAR
    # a passenger's pedestrian permit in a car is not checked against the car
    walker = at_lane(store, QrCredential(token(make_permit(), key), plate=CAR))
    assert walker.granted and walker.plate == CAR
    # and the exit never traps anyone
    assert at_lane(store, QrCredential(text, plate=OTHER_CAR), NOW + 60, exit_=True).granted


def test_a_manual_open_is_granted_with_the_rangers_reason(store: GateStore) -> None:
    decision = at_lane(store, ManualCredential("paper permit checked", people=2, plate=CAR))
    assert (decision.reason, decision.granted, decision.people) == (Reason.MANUAL, True, 2)
    event = make_event(decision)
    assert (event.credential, event.note, event.plate) == (CredentialKind.MANUAL, "paper permit checked", CAR)
    stored = store.events()[-1]  # as recorded (make_event above made a twin with its own id)
    assert stored.model_dump(exclude={"id"}) == event.model_dump(exclude={"id"})
    assert store.local_counts(ParkSettings(slug=PARK, name="A"), decision.day) == (2, 2)


WINDOW = 10.0  # a vehicle lane's [plates] qr_window_s


def test_a_plate_counts_its_permits_party_and_keeps_its_entries_per_day(store: GateStore) -> None:
    car = make_permit(plate=CAR, party=(2, 1, 1), entries_per_day=1)
    store.apply_sync_page(sync_page("2", [(car, False)], plates=True))
    entry = at_lane(store, PlateCredential(CAR))
    assert (entry.reason, entry.people, make_event(entry).people) == (Reason.GRANTED, 4, 4)
    out = at_lane(store, PlateCredential(CAR), NOW + 120, exit_=True)
    assert (out.reason, out.people) == (Reason.GRANTED, 4)
    again = at_lane(store, PlateCredential(CAR), NOW + 180)
    assert (again.reason, again.granted, again.people) == (Reason.ENTRIES_USED, False, 0)
    assert store.local_counts(ParkSettings(slug=PARK, name="A"), entry.day) == (0, 4)


def test_a_feed_without_parties_counts_the_driver(store: GateStore) -> None:
    # an older server's feed carries the plate but not the party: the plate counts the driver, as it used to
    car = make_permit(plate=CAR)
    page = sync_page("2", [(car, False)], plates=True)
    old = page.model_copy(update={"permits": page.permits.model_copy(update={"people": None, "entries_per_day": None})})
    store.apply_sync_page(old)
    assert at_lane(store, PlateCredential(CAR)).people == PLATE_PEOPLE


def test_a_cars_plate_and_its_qr_are_one_entry(store: GateStore, key: SigningKey) -> None:
    car = make_permit(plate=CAR, entries_per_day=2)
    store.apply_sync_page(sync_page("2", [(car, False)], plates=True))
    text = token(car, key)
    plate = at_lane(store, PlateCredential(CAR), window_s=WINDOW)
    assert (plate.reason, plate.people, plate.repeat) == (Reason.GRANTED, 3, False)
    # the driver shows the QR while the car stands at the barrier: the same entry, nothing new counted
    qr = at_lane(store, QrCredential(text, plate=CAR), NOW + 5, window_s=WINDOW)
    assert (qr.granted, qr.repeat, qr.people, qr.permit_id) == (True, True, 0, car.id)
    assert [e.people for e in store.events()] == [3]
    assert store.usage(car.id, plate.day).entries_today == 1
    # later, at the entry, the same permit is a clear already_inside, by QR or by plate
    assert at_lane(store, QrCredential(text, plate=CAR), NOW + 60, window_s=WINDOW).reason is Reason.ALREADY_INSIDE
    assert at_lane(store, QrCredential(text), NOW + 61, window_s=WINDOW).reason is Reason.ALREADY_INSIDE
    assert at_lane(store, PlateCredential(CAR), NOW + 62, window_s=WINDOW).reason is Reason.ALREADY_INSIDE
    # a vehicle pass's plate read twice while the car stands is one entry too
    store.apply_sync_page(pass_page("3", [(OTHER_CAR, "car", True)]))
    assert at_lane(store, PlateCredential(OTHER_CAR), NOW, window_s=WINDOW).people == PLATE_PEOPLE
    assert at_lane(store, PlateCredential(OTHER_CAR), NOW + 8, window_s=WINDOW).repeat
    # the exit: the QR first, then the plate read, is one exit
    first = at_lane(store, QrCredential(text), NOW + 300, exit_=True, window_s=WINDOW)
    assert (first.granted, first.repeat, first.people) == (True, False, 3)
    second = at_lane(store, PlateCredential(CAR), NOW + 303, exit_=True, window_s=WINDOW)
    assert (second.granted, second.repeat, second.people) == (True, True, 0)
    assert [e.people for e in store.events() if e.direction.value == "exit"] == [3]
    # back in: the QR before the plate is read, then the plate — one entry, the second of the day's two
    back = at_lane(store, QrCredential(text), NOW + 600, window_s=WINDOW)
    assert (back.reason, back.people) == (Reason.GRANTED, 3)
    assert at_lane(store, PlateCredential(CAR), NOW + 604, window_s=WINDOW).repeat
    assert store.usage(car.id, back.day).entries_today == 2


def test_without_a_window_a_second_credential_is_a_second_presentation(store: GateStore, key: SigningKey) -> None:
    # a pedestrian lane (vehicle_window_s 0): a permit inside is already_inside whatever shows it
    car = make_permit(plate=CAR)
    store.apply_sync_page(sync_page("2", [(car, False)], plates=True))
    assert at_lane(store, PlateCredential(CAR)).granted
    assert at_lane(store, QrCredential(token(car, key), plate=CAR)).reason is Reason.ALREADY_INSIDE


def test_an_exit_by_plate_closes_whichever_of_permit_and_pass_is_inside(store: GateStore) -> None:
    car = make_permit(plate=CAR, valid_from=NOW + 3600, valid_until=NOW + 7200)  # tomorrow's booking
    store.apply_sync_page(sync_page("2", [(car, False)], plates=True))
    store.apply_sync_page(pass_page("3", [(CAR, "car", True)]))
    came_in = at_lane(store, PlateCredential(CAR))
    assert (came_in.pass_plate, came_in.plate_permit_id) == (CAR, None)  # the permit is not valid yet: the pass
    out = at_lane(store, PlateCredential(CAR), NOW + 60, exit_=True)
    assert (out.granted, out.pass_plate, out.plate_permit_id, out.people) == (True, CAR, None, PLATE_PEOPLE)
    assert not store.plate_usage(CAR, out.day).inside
    # the pass is out, so it enters again rather than being already inside
    assert at_lane(store, PlateCredential(CAR), NOW + 120).pass_plate == CAR
    # when the permit is the one inside, the exit closes the permit
    inside = make_permit(plate=OTHER_CAR)
    store.apply_sync_page(sync_page("4", [(inside, False)], plates=True))
    store.apply_sync_page(pass_page("5", [(OTHER_CAR, "car", True)]))
    assert at_lane(store, PlateCredential(OTHER_CAR), NOW + 200).plate_permit_id == inside.id
    leaving = at_lane(store, PlateCredential(OTHER_CAR), NOW + 260, exit_=True)
    assert (leaving.plate_permit_id, leaving.pass_plate, leaving.people) == (inside.id, None, 3)


def test_a_gate_holding_vehicle_permits_pulls_its_list_again_after_m005(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with GateStore(path) as store:
        store.apply_sync_page(sync_page("7", [(make_permit(plate=CAR), False)], plates=True))
    # put the file back to how m004 left it
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("ALTER TABLE permits DROP COLUMN people")
        conn.execute("ALTER TABLE permits DROP COLUMN entries_per_day")
        conn.execute("DELETE FROM migrations WHERE name = 'm005_plate_party'")
    conn.close()
    with GateStore(path) as store:
        assert store.applied_migrations()[-1] == "m005_plate_party"
        assert store.sync_state().cursor is None  # the next sync is a full one
        assert store.plate_permits(CAR)[0].people is None
    with GateStore(tmp_path / "walkers.db") as store:
        store.apply_sync_page(sync_page("3", [(make_permit(), False)]))
    conn = sqlite3.connect(tmp_path / "walkers.db")
    with conn:
        conn.execute("DELETE FROM migrations WHERE name = 'm005_plate_party'")
        conn.execute("ALTER TABLE permits DROP COLUMN people")
        conn.execute("ALTER TABLE permits DROP COLUMN entries_per_day")
    conn.close()
    with GateStore(tmp_path / "walkers.db") as store:
        assert store.sync_state().cursor == "3"  # no vehicle permits: nothing to learn

"""Vehicle lanes in the store and in decide(): permits by plate, vehicle passes, the plate/QR cross-check,
and a ranger's manual open."""

from __future__ import annotations

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
) -> Decision:
    view = store.view(exit_policy() if exit_ else entry_policy())
    view.refresh()
    decision = decide(credential, view, now)
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
    assert (decision.reason, decision.granted, decision.people) == (Reason.GRANTED, True, PLATE_PEOPLE)
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

"""``decide()``: all of the gate's policy, as a pure function of (credential, local state, now).

No I/O, no clock, no randomness: the same inputs give the same decision, which is what lets tests and
hypothesis drive every path, and lets the store write the decision before the relay moves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gate.credentials import CardCredential, Credential, ManualCredential, PlateCredential, QrCredential
from protocol import (
    CardRole,
    CredentialKind,
    Direction,
    Keyring,
    ParkSettings,
    Permit,
    Reason,
    TokenError,
    normalize_uid,
    verify_token,
)
from protocol.plates import normalize_plate

# Kazakhstan has been on UTC+5 everywhere since 2024-03-01; used when the tz database lacks the park's zone
FALLBACK_TZ = timezone(timedelta(hours=5), "UTC+05")
FLAG_UNLISTED = "unlisted"
# People counted for a vehicle pass (one vehicle and its driver), and for a permit by its plate when the
# feed did not say its party (an older server); a vehicle permit's plate otherwise counts its whole party.
PLATE_PEOPLE = 1
# When several listed permits or a pass fit a plate and none admits, the refusal people most need to hear
_PLATE_REFUSAL_ORDER = (
    Reason.CAPACITY_FULL,
    Reason.ENTRIES_USED,
    Reason.ALREADY_INSIDE,
    Reason.REVOKED,
    Reason.NOT_YET_VALID,
    Reason.EXPIRED,
)


@dataclass(frozen=True)
class Policy:
    """The gate's own settings that decide() needs (from gate.toml)."""

    park: str
    direction: Direction
    clock_skew_s: int = 300
    passback_timeout_s: int = 43200
    # a vehicle lane's [plates] qr_window_s: a car's permit (or pass) that went through this recently by its
    # plate or its QR, seen again by the other, is the same car at the barrier, not a second entry or exit
    vehicle_window_s: float = 0.0


@dataclass(frozen=True)
class ListedPermit:
    """A permit as the synced list knows it."""

    valid_from: int
    valid_until: int
    revoked: bool


@dataclass(frozen=True)
class ListedCard:
    """A card as the synced list knows it; ``active`` false: deactivated or withdrawn from this park."""

    holder: str
    role: CardRole
    valid_from: int
    valid_until: int
    active: bool


@dataclass(frozen=True)
class ListedPlatePermit:
    """A synced permit that carries a plate: what a vehicle lane knows of it without seeing its QR."""

    id: bytes
    valid_from: int
    valid_until: int
    revoked: bool
    people: int | None = None  # the party's size; None when the feed did not say (count PLATE_PEOPLE)
    entries_per_day: int = 0  # 0 = unlimited

    @property
    def party(self) -> int:
        return PLATE_PEOPLE if self.people is None else self.people


@dataclass(frozen=True)
class ListedVehiclePass:
    """A vehicle pass as synced; ``active`` false: deactivated or withdrawn from this park."""

    plate: str
    holder: str
    vehicle_class: str
    valid_from: int
    valid_until: int
    active: bool


@dataclass(frozen=True)
class Usage:
    """What this gate's store knows of a permit's use. ``entries_today`` counts the asked-for day only."""

    inside: bool = False
    last_entry_at: int | None = None  # unix seconds
    entries_today: int = 0
    last_exit_at: int | None = None  # unix seconds

    def passed_just_now(self, direction: Direction, now: float, window_s: float) -> bool:
        """Whether the last pass in ``direction`` is under ``window_s`` old (the same car at the barrier)."""
        if direction is Direction.ENTRY:
            at, where = self.last_entry_at, self.inside
        else:
            at, where = self.last_exit_at, not self.inside
        return window_s > 0 and where and at is not None and 0 <= now - at <= window_s

    def blocks_entry(self, now: float, passback_timeout_s: int) -> bool:
        """Anti-passback: inside since an entry less than ``passback_timeout_s`` ago."""
        return self.inside and self.last_entry_at is not None and now - self.last_entry_at < passback_timeout_s


@dataclass(frozen=True)
class Load:
    """People inside and entries on a day against one set of limits (0 = no limit): the park's, or its zone's."""

    where: str  # "park", or "zone <slug>"
    inside: int
    entries_today: int
    capacity: int = 0
    daily_quota: int = 0


class LocalState(Protocol):
    """The read-only view of the gate's store that decide() reads."""

    @property
    def policy(self) -> Policy: ...

    @property
    def keyring(self) -> Keyring: ...

    @property
    def park(self) -> ParkSettings | None: ...

    def listed(self, permit_id: bytes) -> ListedPermit | None: ...

    def usage(self, permit_id: bytes, day: date) -> Usage: ...

    def listed_card(self, uid: str) -> ListedCard | None:
        """The synced card with this normalised uid, or None when the park's list does not have it."""
        ...

    def card_usage(self, uid: str, day: date) -> Usage: ...

    def loads(self, day: date) -> Sequence[Load]:
        """The park's load, then its zone's if the gate has one, as far as the gate knows."""
        ...

    def plate_permits(self, plate: str) -> Sequence[ListedPlatePermit]:
        """Every synced permit of this normalised plate, revoked and expired ones included."""
        ...

    def vehicle_pass(self, plate: str) -> ListedVehiclePass | None:
        """The synced vehicle pass of this normalised plate, or None."""
        ...

    def plate_usage(self, plate: str, day: date) -> Usage:
        """Anti-passback of a vehicle pass, by its plate."""
        ...


@dataclass(frozen=True)
class Decision:
    """A decision and what the store and the actuators need to act on it."""

    reason: Reason
    granted: bool
    direction: Direction
    credential: CredentialKind
    at: float  # unix seconds: the ``now`` it was decided at
    day: date  # park-local day of ``at``
    permit: Permit | None = None
    people: int = 0  # people counted through the gate; 0 when refused
    flags: tuple[str, ...] = ()
    detail: str = ""  # English, for logs; people read catalogue texts keyed by ``reason``
    card_uid: str | None = None  # normalised uid of a presented card
    card_role: CardRole | None = None  # the listed card holder's role
    plate: str | None = None  # the plate read at a vehicle lane, or the permit's car
    plate_permit_id: bytes | None = None  # the listed permit a plate alone was decided on (no QR seen)
    vehicle_class: str | None = None  # the vehicle pass's class, when a pass decided
    pass_plate: str | None = None  # the plate whose vehicle pass admitted (its anti-passback is updated)
    note: str | None = None  # a ranger's reason for a manual open
    # the car went through moments ago on this permit or pass by its other credential (its plate, or its
    # QR): the same entry or exit seen twice, so nothing is recorded, counted or opened again
    repeat: bool = False

    @property
    def permit_id(self) -> bytes | None:
        return self.plate_permit_id if self.permit is None else self.permit.id

    @property
    def category(self) -> str | None:
        """The permit's category, the card holder's role, or the vehicle pass's class (counts by category)."""
        if self.permit is not None:
            return self.permit.category
        if self.card_role is not None:
            return self.card_role.value
        return self.vehicle_class


@lru_cache(maxsize=16)
def park_zone(name: str) -> tzinfo:
    """The park's time zone, or fixed UTC+5 if the tz database does not have it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return FALLBACK_TZ


def local_day(now: float, park: ParkSettings | None) -> date:
    """The park-local calendar day of a unix time."""
    zone = park_zone(park.timezone) if park is not None else FALLBACK_TZ
    return datetime.fromtimestamp(now, UTC).astimezone(zone).date()


def decide(credential: Credential, state: LocalState, now: float) -> Decision:
    """Decide on one presented credential at unix time ``now``; never raises for any credential content."""
    policy = state.policy
    park = state.park
    day = local_day(now, park)

    def refuse(reason: Reason, detail: str, permit: Permit | None = None) -> Decision:
        return Decision(reason, False, policy.direction, credential.kind, now, day, permit, 0, (), detail)

    if isinstance(credential, CardCredential):
        return _decide_card(credential, state, now, day)
    if isinstance(credential, PlateCredential):
        return _decide_plate(credential, state, now, day)
    if isinstance(credential, ManualCredential):
        # the ranger decided; the gate records who, why and how many, and opens
        return Decision(
            Reason.MANUAL,
            True,
            policy.direction,
            credential.kind,
            now,
            day,
            people=credential.people,
            detail=f"manual open: {credential.reason}",
            plate=credential.plate,
            note=credential.reason,
        )
    assert isinstance(credential, QrCredential)

    try:
        verified = verify_token(credential.text, state.keyring)
    except TokenError as err:
        return refuse(err.reason, str(err))
    permit = verified.permit
    plate = credential.plate or permit.plate
    if permit.park != policy.park:
        return refuse(Reason.WRONG_PARK, f"permit is for park {permit.park!r}", permit)
    listed = state.listed(permit.id)

    def grant(detail: str) -> Decision:
        reason, flags = (Reason.GRANTED, ()) if listed is not None else (Reason.GRANTED_UNLISTED, (FLAG_UNLISTED,))
        return Decision(
            reason, True, policy.direction, credential.kind, now, day, permit, permit.people, flags, detail, plate=plate
        )

    def refuse_permit(reason: Reason, detail: str) -> Decision:
        return Decision(reason, False, policy.direction, credential.kind, now, day, permit, detail=detail, plate=plate)

    def same_car(usage: Usage) -> Decision | None:
        # the car's plate let it through on this permit moments ago: its QR now is that same passage
        if not own_car or not usage.passed_just_now(policy.direction, now, policy.vehicle_window_s):
            return None
        return dataclasses.replace(grant(f"{plate} already let through on this permit"), people=0, repeat=True)

    read = None if credential.plate is None else normalize_plate(credential.plate)
    own_car = bool(read) and permit.plate is not None and normalize_plate(permit.plate) == read
    if policy.direction is Direction.EXIT:
        # never trap a visitor inside: any genuine permit of this park lets its holder out
        return same_car(state.usage(permit.id, day)) or grant(f"exit of {permit.people}")
    if read and permit.plate is not None and not own_car:
        # a vehicle permit shown in another car; a permit without a plate (a passenger's) is not checked
        return refuse_permit(Reason.PLATE_MISMATCH, f"permit is for {permit.plate}, the car is {read}")

    skew = policy.clock_skew_s
    if now < permit.valid_from - skew:
        return refuse_permit(Reason.NOT_YET_VALID, f"valid from {permit.valid_from}")
    if now > permit.valid_until + skew:
        return refuse_permit(Reason.EXPIRED, f"valid until {permit.valid_until}")
    if listed is not None and listed.revoked:
        return refuse_permit(Reason.REVOKED, "permit revoked")
    usage = state.usage(permit.id, day)
    repeat = same_car(usage)
    if repeat is not None:
        return repeat
    if usage.blocks_entry(now, policy.passback_timeout_s):
        return refuse_permit(Reason.ALREADY_INSIDE, f"entered at {usage.last_entry_at} and has not left")
    if permit.entries_per_day > 0 and usage.entries_today >= permit.entries_per_day:
        return refuse_permit(Reason.ENTRIES_USED, f"{usage.entries_today} of {permit.entries_per_day} entries used")
    full = no_room(state, day, permit.people)
    if full is not None:
        return refuse_permit(Reason.CAPACITY_FULL, full)
    return grant(f"entry of {permit.people}")


def no_room(state: LocalState, day: date, people: int) -> str | None:
    """Which limit ``people`` more would break (people at one time, or entries today; the park's or the
    zone's), or None."""
    park = state.park
    if not people or park is None:
        return None
    zone = park.zone
    if not (park.capacity or park.daily_quota or (zone is not None and (zone.capacity or zone.daily_quota))):
        return None  # the common case: no query at all
    for load in state.loads(day):
        if load.capacity and load.inside + people > load.capacity:
            return f"{load.where}: {load.inside} inside, capacity {load.capacity}"
        if load.daily_quota and load.entries_today + people > load.daily_quota:
            return f"{load.where}: {load.entries_today} entered today, quota {load.daily_quota}"
    return None


def _decide_card(credential: CardCredential, state: LocalState, now: float, day: date) -> Decision:
    """Cards: the park's list is the authority (only its cards are synced, so wrong_park is "not listed").

    Residents are visitors (counted, subject to capacity); rangers, staff and guides are logged with
    people = 0 so they never fill the park.
    """
    policy = state.policy
    try:
        uid: str | None = normalize_uid(credential.uid)
    except ValueError:
        uid = None

    def decision(reason: Reason, detail: str, card: ListedCard | None = None, people: int = 0) -> Decision:
        role = None if card is None else card.role
        return Decision(
            reason,
            reason.admits,
            policy.direction,
            credential.kind,
            now,
            day,
            None,
            people if reason.admits else 0,
            (),
            detail,
            uid,
            role,
        )

    if uid is None:
        return decision(Reason.UNKNOWN_CARD, f"{credential.uid!r} is not a card uid")
    card = state.listed_card(uid)
    if card is None:
        return decision(Reason.UNKNOWN_CARD, f"card {uid} is not in the park's list")
    people = 1 if card.role.counted_as_visitor else 0
    if policy.direction is Direction.EXIT:
        # never trap anyone inside: a card the park ever listed lets its holder out
        return decision(Reason.GRANTED, f"exit of {card.role.value} card {uid}", card, people)
    if not card.active:
        return decision(Reason.REVOKED, f"card {uid} was deactivated or withdrawn from this park", card)
    skew = policy.clock_skew_s
    if now < card.valid_from - skew:
        return decision(Reason.NOT_YET_VALID, f"card valid from {card.valid_from}", card)
    if now > card.valid_until + skew:
        return decision(Reason.EXPIRED, f"card valid until {card.valid_until}", card)
    usage = state.card_usage(uid, day)
    if usage.blocks_entry(now, policy.passback_timeout_s):
        return decision(Reason.ALREADY_INSIDE, f"card entered at {usage.last_entry_at} and has not left", card)
    full = no_room(state, day, people)
    if full is not None:
        return decision(Reason.CAPACITY_FULL, full, card)
    return decision(Reason.GRANTED, f"entry of {card.role.value} card {uid}", card, people)


def _decide_plate(credential: PlateCredential, state: LocalState, now: float, day: date) -> Decision:
    """A plate at a vehicle lane: a valid listed permit of that plate, else an active vehicle pass, admits.

    A permit is held to the same rules as its QR (validity with skew, revocation, anti-passback, entries
    per day, capacity) and counts its party; a pass counts its driver. A car that went through on a permit
    or pass moments ago by its QR (``Policy.vehicle_window_s``) is that same passage: ``repeat``. An unknown
    plate is ``unknown_plate``: the barrier stays closed and the ranger decides (``GateController.manual_open``).
    """
    policy = state.policy
    plate = normalize_plate(credential.plate)
    skew = policy.clock_skew_s

    def decision(
        reason: Reason,
        detail: str,
        permit: ListedPlatePermit | None = None,
        vehicle_pass: ListedVehiclePass | None = None,
        repeat: bool = False,
    ) -> Decision:
        people = 0
        if reason.admits and not repeat:
            people = PLATE_PEOPLE if permit is None else permit.party
        return Decision(
            reason,
            reason.admits,
            policy.direction,
            credential.kind,
            now,
            day,
            people=people,
            detail=detail,
            plate=plate or credential.plate,
            plate_permit_id=None if permit is None else permit.id,
            vehicle_class=None if vehicle_pass is None else vehicle_pass.vehicle_class,
            pass_plate=plate if vehicle_pass is not None and reason.admits else None,
            repeat=repeat,
        )

    if not plate:
        return decision(Reason.UNKNOWN_PLATE, f"{credential.plate!r} is not a plate")
    permits = sorted(state.plate_permits(plate), key=lambda p: (p.valid_from, p.id))
    vehicle_pass = state.vehicle_pass(plate)
    window = policy.vehicle_window_s
    if policy.direction is Direction.EXIT:
        # never trap anyone inside: a car the park ever listed drives out, on whichever it came in on
        usages = [(p, state.usage(p.id, day)) for p in permits]
        for permit, usage in usages:
            if usage.passed_just_now(Direction.EXIT, now, window):
                return decision(Reason.GRANTED, f"{plate} already let out", permit, repeat=True)
        pass_usage = None if vehicle_pass is None else state.plate_usage(plate, day)
        if pass_usage is not None and pass_usage.passed_just_now(Direction.EXIT, now, window):
            return decision(Reason.GRANTED, f"{plate} already let out", vehicle_pass=vehicle_pass, repeat=True)
        inside = [p for p, usage in usages if usage.inside]
        if inside:
            return decision(Reason.GRANTED, f"exit of {plate}", inside[0])
        if pass_usage is not None and pass_usage.inside:
            return decision(Reason.GRANTED, f"exit of {plate} by its pass", vehicle_pass=vehicle_pass)
        if permits:
            return decision(Reason.GRANTED, f"exit of {plate}", permits[0])
        if vehicle_pass is not None:
            return decision(Reason.GRANTED, f"exit of {plate} by its pass", vehicle_pass=vehicle_pass)
        return decision(Reason.UNKNOWN_PLATE, f"plate {plate} has no permit or pass")

    refusals: list[Decision] = []
    for permit in permits:
        if permit.revoked:
            refusals.append(decision(Reason.REVOKED, f"permit of {plate} revoked", permit))
        elif now < permit.valid_from - skew:
            refusals.append(decision(Reason.NOT_YET_VALID, f"permit of {plate} valid from {permit.valid_from}", permit))
        elif now > permit.valid_until + skew:
            refusals.append(decision(Reason.EXPIRED, f"permit of {plate} valid until {permit.valid_until}", permit))
        else:
            usage = state.usage(permit.id, day)
            if usage.passed_just_now(Direction.ENTRY, now, window):
                return decision(Reason.GRANTED, f"{plate} already let in on this permit", permit, repeat=True)
            if usage.blocks_entry(now, policy.passback_timeout_s):
                refusals.append(decision(Reason.ALREADY_INSIDE, f"{plate} entered at {usage.last_entry_at}", permit))
                continue
            if permit.entries_per_day and usage.entries_today >= permit.entries_per_day:
                detail = f"{plate}: {usage.entries_today} of {permit.entries_per_day} entries used"
                refusals.append(decision(Reason.ENTRIES_USED, detail, permit))
                continue
            full = no_room(state, day, permit.party)
            if full is not None:
                return decision(Reason.CAPACITY_FULL, full, permit)
            return decision(Reason.GRANTED, f"entry of {plate} by its permit", permit)
    if vehicle_pass is not None:
        if not vehicle_pass.active:
            refusals.append(decision(Reason.REVOKED, f"pass of {plate} deactivated", vehicle_pass=vehicle_pass))
        elif now < vehicle_pass.valid_from - skew:
            detail = f"pass of {plate} valid from {vehicle_pass.valid_from}"
            refusals.append(decision(Reason.NOT_YET_VALID, detail, vehicle_pass=vehicle_pass))
        elif now > vehicle_pass.valid_until + skew:
            detail = f"pass of {plate} valid until {vehicle_pass.valid_until}"
            refusals.append(decision(Reason.EXPIRED, detail, vehicle_pass=vehicle_pass))
        else:
            usage = state.plate_usage(plate, day)
            if usage.passed_just_now(Direction.ENTRY, now, window):
                detail = f"{plate} already let in by its pass"
                return decision(Reason.GRANTED, detail, vehicle_pass=vehicle_pass, repeat=True)
            if usage.blocks_entry(now, policy.passback_timeout_s):
                detail = f"{plate} entered at {usage.last_entry_at} by its pass"
                refusals.append(decision(Reason.ALREADY_INSIDE, detail, vehicle_pass=vehicle_pass))
            else:
                full = no_room(state, day, PLATE_PEOPLE)
                if full is not None:
                    return decision(Reason.CAPACITY_FULL, full, vehicle_pass=vehicle_pass)
                return decision(Reason.GRANTED, f"entry of {plate} by its pass", vehicle_pass=vehicle_pass)
    if refusals:
        return min(refusals, key=lambda d: _PLATE_REFUSAL_ORDER.index(d.reason))
    return decision(Reason.UNKNOWN_PLATE, f"plate {plate} has no permit or pass")

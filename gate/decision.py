"""``decide()``: all of the gate's policy, as a pure function of (credential, local state, now).

No I/O, no clock, no randomness: the same inputs give the same decision, which is what lets tests and
hypothesis drive every path, and lets the store write the decision before the relay moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gate.credentials import CardCredential, Credential, PlateCredential, QrCredential
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

# Kazakhstan has been on UTC+5 everywhere since 2024-03-01; used when the tz database lacks the park's zone
FALLBACK_TZ = timezone(timedelta(hours=5), "UTC+05")
FLAG_UNLISTED = "unlisted"


@dataclass(frozen=True)
class Policy:
    """The gate's own settings that decide() needs (from gate.toml)."""

    park: str
    direction: Direction
    clock_skew_s: int = 300
    passback_timeout_s: int = 43200


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
class Usage:
    """What this gate's store knows of a permit's use. ``entries_today`` counts the asked-for day only."""

    inside: bool = False
    last_entry_at: int | None = None  # unix seconds
    entries_today: int = 0


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

    def occupancy(self, day: date) -> tuple[int, int]:
        """(people inside, entries on ``day``) as far as the gate knows."""
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

    @property
    def permit_id(self) -> bytes | None:
        return None if self.permit is None else self.permit.id

    @property
    def category(self) -> str | None:
        """The permit's category, or the card holder's role (events and visitor counts by category)."""
        if self.permit is not None:
            return self.permit.category
        return None if self.card_role is None else self.card_role.value


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
        return refuse(Reason.UNKNOWN_PLATE, f"plate {credential.plate!r} has no permit")
    assert isinstance(credential, QrCredential)

    try:
        verified = verify_token(credential.text, state.keyring)
    except TokenError as err:
        return refuse(err.reason, str(err))
    permit = verified.permit
    if permit.park != policy.park:
        return refuse(Reason.WRONG_PARK, f"permit is for park {permit.park!r}", permit)
    listed = state.listed(permit.id)

    def grant(detail: str) -> Decision:
        reason, flags = (Reason.GRANTED, ()) if listed is not None else (Reason.GRANTED_UNLISTED, (FLAG_UNLISTED,))
        return Decision(reason, True, policy.direction, credential.kind, now, day, permit, permit.people, flags, detail)

    if policy.direction is Direction.EXIT:
        # never trap a visitor inside: any genuine permit of this park lets its holder out
        return grant(f"exit of {permit.people}")

    skew = policy.clock_skew_s
    if now < permit.valid_from - skew:
        return refuse(Reason.NOT_YET_VALID, f"valid from {permit.valid_from}", permit)
    if now > permit.valid_until + skew:
        return refuse(Reason.EXPIRED, f"valid until {permit.valid_until}", permit)
    if listed is not None and listed.revoked:
        return refuse(Reason.REVOKED, "permit revoked", permit)
    usage = state.usage(permit.id, day)
    if usage.inside and usage.last_entry_at is not None and now - usage.last_entry_at < policy.passback_timeout_s:
        return refuse(Reason.ALREADY_INSIDE, f"entered at {usage.last_entry_at} and has not left", permit)
    if permit.entries_per_day > 0 and usage.entries_today >= permit.entries_per_day:
        return refuse(Reason.ENTRIES_USED, f"{usage.entries_today} of {permit.entries_per_day} entries used", permit)
    if park is not None and (park.capacity or park.daily_quota):
        inside, entries_today = state.occupancy(day)
        if park.capacity and inside + permit.people > park.capacity:
            return refuse(Reason.CAPACITY_FULL, f"{inside} inside, capacity {park.capacity}", permit)
        if park.daily_quota and entries_today + permit.people > park.daily_quota:
            return refuse(Reason.CAPACITY_FULL, f"{entries_today} entered today, quota {park.daily_quota}", permit)
    return grant(f"entry of {permit.people}")


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
    if usage.inside and usage.last_entry_at is not None and now - usage.last_entry_at < policy.passback_timeout_s:
        return decision(Reason.ALREADY_INSIDE, f"card entered at {usage.last_entry_at} and has not left", card)
    park = state.park
    if people and park is not None and (park.capacity or park.daily_quota):
        inside, entries_today = state.occupancy(day)
        if park.capacity and inside + people > park.capacity:
            return decision(Reason.CAPACITY_FULL, f"{inside} inside, capacity {park.capacity}", card)
        if park.daily_quota and entries_today + people > park.daily_quota:
            return decision(Reason.CAPACITY_FULL, f"{entries_today} entered today, quota {park.daily_quota}", card)
    return decision(Reason.GRANTED, f"entry of {card.role.value} card {uid}", card, people)

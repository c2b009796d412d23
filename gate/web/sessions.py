"""Ranger sign-in (a PIN or a ranger card tapped on the gate's reader) and sessions with a CSRF token.

Sessions live in memory: a restarted gate asks the ranger to sign in again, and no secret sits on disk
beyond the PIN's argon2 hash in gate.toml. Cookies are HttpOnly and SameSite=Strict; every form that
changes something carries the session's CSRF token as well.

Card sign-in: the login page opens a *pending* sign-in (its id in a cookie) and polls it. When a card whose
synced role is ``ranger`` — active and within its validity — is tapped on the gate's reader within
``CARD_WINDOW_S``, the newest pending sign-in is approved. The card's tap is a decision like any other (the
barrier opens for a ranger at an entry lane); the page only learns that a ranger is standing at the gate.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gate.decision import ListedCard
from gate.errors import GateError
from protocol import CardRole

CARD_WINDOW_S = 120.0  # a login page waits this long for a ranger card
MAX_PIN_FAILURES = 5
LOCKOUT_S = 60.0


class SignInError(GateError):
    """A sign-in that cannot succeed (wrong PIN, locked out, no PIN set)."""


def hash_pin(pin: str) -> str:
    """The argon2 hash to put in gate.toml ``[ranger] pin_hash``; a PIN has at least 4 digits."""
    if not pin.isdigit() or len(pin) < 4:
        raise SignInError("a PIN is at least 4 digits")
    return PasswordHasher().hash(pin)


@dataclass
class Session:
    token: str
    csrf: str
    by: str  # "pin" or the ranger card holder's name
    expires: float  # monotonic


@dataclass
class PendingSignIn:
    created: float  # monotonic
    approved_by: str | None = None


@dataclass
class Sessions:
    pin_hash: str
    lifetime_s: float
    clock: Callable[[], float] = time.monotonic
    _sessions: dict[str, Session] = field(default_factory=dict)
    _pending: dict[str, PendingSignIn] = field(default_factory=dict)
    _failures: int = 0
    _locked_until: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _new(self, by: str) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), by, self.clock() + self.lifetime_s)
        self._sessions[session.token] = session
        return session

    def get(self, token: str | None) -> Session | None:
        """The live session of a cookie, or None (unknown or expired)."""
        if not token:
            return None
        with self._lock:
            session = self._sessions.get(token)
            if session is not None and session.expires < self.clock():
                del self._sessions[token]
                return None
            return session

    def end(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(token, None)

    def sign_in_pin(self, pin: str) -> Session:
        """A session for the right PIN; raises SignInError (and counts the failure) otherwise."""
        now = self.clock()
        with self._lock:
            if not self.pin_hash:
                raise SignInError("no PIN is set on this gate")
            if now < self._locked_until:
                raise SignInError("locked")
        try:
            PasswordHasher().verify(self.pin_hash, pin)
        except (VerificationError, InvalidHashError) as err:
            with self._lock:
                self._failures += 1
                if self._failures >= MAX_PIN_FAILURES:
                    self._failures = 0
                    self._locked_until = now + LOCKOUT_S
            raise SignInError("wrong PIN") from err
        with self._lock:
            self._failures = 0
            return self._new("pin")

    def open_pending(self) -> str:
        """A pending card sign-in for one login page; its id goes in a cookie."""
        now = self.clock()
        with self._lock:
            self._pending = {k: p for k, p in self._pending.items() if now - p.created < CARD_WINDOW_S}
            pending_id = secrets.token_urlsafe(32)
            self._pending[pending_id] = PendingSignIn(now)
            return pending_id

    def claim_pending(self, pending_id: str | None) -> Session | None:
        """The session of an approved pending sign-in (once), or None while it waits."""
        if not pending_id:
            return None
        with self._lock:
            pending = self._pending.get(pending_id)
            if pending is None or pending.approved_by is None:
                return None
            del self._pending[pending_id]
            return self._new(pending.approved_by)

    def card_tapped(self, card: ListedCard | None, at: float) -> bool:
        """A card was tapped at the gate: a valid ranger card approves the one login page that is waiting.

        With two pages waiting nobody can tell whose tap it was (someone on the gate's Wi-Fi may be waiting
        for a ranger's routine tap), so none is approved: the ranger reloads and taps again.
        """
        if card is None or card.role is not CardRole.RANGER or not card.active:
            return False
        if not card.valid_from <= at <= card.valid_until:
            return False
        now = self.clock()
        with self._lock:
            waiting = [
                (p.created, k)
                for k, p in self._pending.items()
                if p.approved_by is None and now - p.created < CARD_WINDOW_S
            ]
            if len(waiting) != 1:
                return False
            self._pending[waiting[0][1]].approved_by = card.holder
            return True


def feed_card_login(sessions: Sessions, lookup: Callable[[str], ListedCard | None]) -> Callable[[dict[str, Any]], None]:
    """A feed hook that lets a ranger's card tap approve a waiting login page."""

    def on_item(item: dict[str, Any]) -> None:
        card = item.get("card")
        if card is not None:
            sessions.card_tapped(lookup(card["uid"]), float(item["at"]))

    return on_item

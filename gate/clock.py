"""Clock safety: the time decide() is given, guarded by the monotonic clock and the last known good time.

A gate stands for days without network, and a Pi without its RTC battery boots at 1970 (or at whatever the
fake-hwclock saved) after a power cut. A wrong wall clock must not let anyone in who should not be: a
backward jump would make an expired permit valid again; a forward jump would start a new day's entries and
end anti-passback early. So ``GateClock`` does not take the wall clock on trust:

- It keeps an *anchor*, a (wall time, monotonic time) pair it believes, and estimates the time as
  ``anchor wall + monotonic elapsed``; the monotonic clock never jumps.
- What the gate knows without any clock (``KnownTimes``, read from the store at start) are lower bounds of
  the true time: this software's release (``RELEASED_AT``), the last known good time the store kept
  (``meta`` ``clock.last_good``) and the newest event it recorded. At start the wall clock is *suspect*
  when it is before any of them (a flat RTC battery, fake-hwclock's stale save, an RTC set back by hand),
  or further after the last known good time than any power cut lasts (``MAX_POWER_OFF_S``: an RTC that
  lost its time and came back with a date years ahead). A clock that is only hours or days off inside
  those bounds cannot be told from a gate that was switched off that long: it is caught at the next sync.
- While running, the wall clock is suspect when it is before the release or the last known good time, or
  when it left the estimate by more than ``DRIFT_S``.
- While it is suspect, decisions use the estimate — never the jumped wall time — and their events carry
  the ``clock_suspect`` flag so the server and the ranger can check them.
- A good time comes back with the next sync: the server's ``Date`` header (``note_server_time``). It becomes
  the anchor and the last known good time, and once the gate's time comes from the server again its events
  are no longer flagged, even while the wall clock itself stays wrong (a Pi with no RTC and no NTP).

After a boot with a suspect clock the estimate is the latest of those lower bounds plus the time since the
gate started: a lower bound of the true time (the hours the power was off are unknown). Validity checks then
lean towards admitting a permit that expired while the gate was dark, bounded by the outage; the events
are flagged and the server sees them. The last known good time is saved every ``PERSIST_EVERY_S`` while the
clock is trusted (``tick`` is called by the housekeeping thread), so that bound stays small.

The server's time is the authority: when it is behind the last known good time by more than ``DRIFT_S``
(a fast RTC went unnoticed before the first sync and was saved as good), the server's time replaces it, and
the events recorded until then no longer count as a lower bound at the next start.

``qaqpa-tools check`` judges the clock with the same ``known_times(store).problem(now)``.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from gate.errors import StoreError
from gate.store import GateStore

log = logging.getLogger(__name__)

FLAG_CLOCK_SUSPECT = "clock_suspect"
# the month this software was released: no gate running it can truly be earlier (1970 after a power cut
# without RTC, a fake-hwclock save from an old image). Moved on with each release; a test keeps it in the past.
RELEASED_AT = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
DAY_S = 86400.0
# longer than any gate stays dark (a park closed for the winter with its UPS off): a wall clock further
# after the last known good time than this lost its time rather than counted it
MAX_POWER_OFF_S = 366 * DAY_S
DRIFT_S = 120.0  # wall clock vs. monotonic estimate; NTP slews far less than this
BEHIND_LAST_GOOD_S = 5.0  # the saved last good time is rounded; allow that much
PERSIST_EVERY_S = 60.0
META_LAST_GOOD = "clock.last_good"
META_CORRECTED_SEQ = "clock.corrected_seq"  # events up to this seq were timed by a clock the server corrected


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class KnownTimes:
    """Lower bounds of the true time that a gate knows without any clock: times that have already passed."""

    released_at: float = RELEASED_AT
    last_good: float | None = None  # the store's saved last known good time
    newest_event: float | None = None  # when the newest event the store recorded was decided

    @property
    def latest(self) -> float | None:
        """The latest time this gate saw pass (the last good time or the newest event), if any."""
        seen = [at for at in (self.last_good, self.newest_event) if at is not None]
        return max(seen) if seen else None

    @property
    def floor(self) -> float:
        """The earliest the true time can be: what a suspect clock's estimate starts from."""
        return max(self.latest or 0.0, self.released_at)

    def problem(
        self, wall: float, tolerance_s: float = BEHIND_LAST_GOOD_S, max_off_s: float = MAX_POWER_OFF_S
    ) -> str | None:
        """Why the wall clock ``wall`` cannot be the time now, or None (English, for logs and checks)."""
        if wall < self.released_at:
            return f"the clock says {_day(wall)}, before this software was released ({_day(self.released_at)})"
        if self.last_good is not None and wall < self.last_good - tolerance_s:
            return f"the clock is {self.last_good - wall:.0f} s behind the last known good time"
        if self.newest_event is not None and wall < self.newest_event - tolerance_s:
            return f"the clock is {self.newest_event - wall:.0f} s behind the newest recorded event"
        if self.last_good is not None and wall > self.last_good + max_off_s:
            return (
                f"the clock is {(wall - self.last_good) / DAY_S:.0f} days after the last known good time, longer "
                f"than any power cut ({max_off_s / DAY_S:.0f} days)"
            )
        return None


def known_times(store: GateStore | None, released_at: float = RELEASED_AT) -> KnownTimes:
    """What ``store`` knows of the time: its saved last good time and its newest event (one index seek)."""
    if store is None:
        return KnownTimes(released_at)
    last_good = _meta_float(store, META_LAST_GOOD)
    corrected = _meta_float(store, META_CORRECTED_SEQ) or 0
    try:
        with store.transaction() as conn:
            # by seq, the primary key: the last recorded event, without a scan of the retained ones
            row = conn.execute(
                "SELECT occurred_at FROM events WHERE seq > ? ORDER BY seq DESC LIMIT 1", (int(corrected),)
            ).fetchone()
    except sqlite3.Error as err:
        raise StoreError(f"cannot read the newest event: {err}") from err
    return KnownTimes(released_at, last_good, None if row is None else row[0] / 1000.0)


def _meta_float(store: GateStore, key: str) -> float | None:
    text = store.meta(key)
    try:
        return None if text is None else float(text)
    except ValueError:
        log.error("stored %s is not a number: %r; ignored", key, text)
        return None


@dataclass(frozen=True)
class ClockReading:
    """The time to decide at, and whether it may be wrong (then its events are flagged ``clock_suspect``)."""

    at: float  # unix seconds
    suspect: bool
    problem: str | None = None  # English, for logs and the ranger page's status


class GateClock:
    """The gate's guarded clock. Thread-safe; ``read()`` is cheap (no I/O) and is called once per decision.

    ``guard=False`` passes the wall clock through untouched and never flags: for a clock that is meant to
    run unlike real time (the simulator's compressed day, a test's fixed instant).
    """

    def __init__(
        self,
        store: GateStore | None,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        guard: bool = True,
        drift_s: float = DRIFT_S,
        released_at: float = RELEASED_AT,
        max_power_off_s: float = MAX_POWER_OFF_S,
    ) -> None:
        """``released_at`` and ``max_power_off_s`` bound a believable clock at start (see the module)."""
        self._store = store
        self._wall = wall
        self._mono = monotonic
        self.guard = guard
        self.drift_s = drift_s
        self.released_at = released_at
        self.max_power_off_s = max_power_off_s
        self._lock = threading.Lock()
        known = known_times(store, released_at)
        self._known = known
        self._highest_read = 0.0  # the latest time read() gave out: events of this run are stamped with it
        self.from_server = False  # the anchor came from the server's Date header
        self.server_offset: float | None = None  # server time - wall clock at the last sync
        self._persisted_at = self._mono()
        wall_now, mono_now = self._wall(), self._mono()
        self._problem = known.problem(wall_now, max_off_s=max_power_off_s) if guard else None
        if self._problem is None:
            self._anchor = (wall_now, mono_now)
        else:
            # nothing better known than what already passed: the estimate is a lower bound of the true time
            self._anchor = (known.floor, mono_now)
            log.warning(
                "clock suspect at start: %s; deciding on %.0f + time since start", self._problem, self._anchor[0]
            )

    @property
    def last_good(self) -> float | None:
        """The last known good time: saved now and then while the clock is trusted, and at each sync."""
        return self._known.last_good

    def _check(self, wall: float, estimate: float) -> str | None:
        """Why the wall clock cannot be believed, or None."""
        problem = self._known.problem(wall, max_off_s=self.max_power_off_s)
        if problem is not None:
            return problem
        if abs(wall - estimate) > self.drift_s:
            way = "ahead" if wall > estimate else "back"
            return f"the clock jumped {abs(wall - estimate):.0f} s {way}"
        return None

    def read(self) -> ClockReading:
        """The time to decide at now."""
        wall = self._wall()
        if not self.guard:
            return ClockReading(wall, False)
        mono = self._mono()
        with self._lock:
            estimate = self._anchor[0] + (mono - self._anchor[1])
            problem = self._check(wall, estimate)
            if problem is None:
                if self._problem is not None:
                    log.info("wall clock agrees with the estimate again")
                self._problem = None
                self._anchor = (wall, mono)  # follow the trusted clock (and NTP's slewing)
                self.from_server = False
                self._highest_read = max(self._highest_read, wall)
                return ClockReading(wall, False)
            if problem != self._problem:
                log.warning("clock suspect: %s; deciding on the monotonic estimate", problem)
            self._problem = problem
            self._highest_read = max(self._highest_read, estimate)
            # an anchor from the server's Date is good time: the wall clock is wrong, the time is not
            return ClockReading(estimate, not self.from_server, problem)

    def note_server_time(self, server_time: float) -> None:
        """A good time from the server (its ``Date`` header at the last sync): the new anchor and last good."""
        mono = self._mono()
        wall = self._wall()
        with self._lock:
            first_or_recovering = self.last_good is None or self._problem is not None or self.from_server
            self.server_offset = server_time - wall
            self._anchor = (server_time, mono)
            if abs(server_time - wall) <= self.drift_s:
                self._problem = None  # the wall clock is right again (NTP came with the network)
                self.from_server = False
            else:
                self.from_server = True
            # the server is the authority: a last good time (or event) far ahead of it came from a fast clock
            latest = max(self._known.latest or 0.0, self._highest_read)
            corrected = self.guard and server_time < latest - self.drift_s
            if corrected:
                log.warning("the gate's times were up to %.0f s ahead of the server's", latest - server_time)
                self._highest_read = server_time
                self._known = KnownTimes(self.released_at, server_time)
            else:
                self._known = replace(self._known, last_good=max(self.last_good or 0.0, server_time))
        if corrected:
            self._forget_events_timed_ahead()
        # every sync response brings a Date; an fsynced write for each would make decisions wait on the lock
        if corrected or first_or_recovering or self._mono() - self._persisted_at >= PERSIST_EVERY_S:
            self._persist(server_time)

    def _forget_events_timed_ahead(self) -> None:
        """The events recorded so far were timed by the clock the server just corrected: at the next start
        they are no lower bound of the time (``known_times`` reads only those recorded after them)."""
        if self._store is None:
            return
        try:
            with self._store.transaction() as conn:
                newest = conn.execute("SELECT max(seq) FROM events").fetchone()[0]
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (META_CORRECTED_SEQ, str(newest or 0))
                )
        except (sqlite3.Error, StoreError) as err:
            log.error("corrected clock not noted: %s", err)

    def note_response(self, response: httpx.Response) -> None:
        """The sync client's hook: a server response's ``Date`` is a good time."""
        at = server_date(response)
        if at is not None:
            self.note_server_time(at)

    def tick(self) -> None:
        """Save the current good time every ``PERSIST_EVERY_S`` (called periodically, off the decision path)."""
        reading = self.read()
        if self.guard and not reading.suspect and self._mono() - self._persisted_at >= PERSIST_EVERY_S:
            with self._lock:
                self._known = replace(self._known, last_good=max(self.last_good or 0.0, reading.at))
            self._persist(reading.at)

    def _persist(self, at: float) -> None:
        if self._store is None:
            return
        self._persisted_at = self._mono()
        try:
            self._store.set_meta(META_LAST_GOOD, f"{at:.3f}")
        except StoreError as err:
            log.error("last known good time not saved: %s", err)

    def state(self) -> dict[str, object]:
        """Clock health for status and the ranger page."""
        reading = self.read()
        return {
            "now": reading.at,
            "wall": self._wall(),
            "suspect": reading.suspect,
            "problem": self._problem,
            "from_server": self.from_server,
            "last_good": self.last_good,
            "server_offset_s": self.server_offset,
            "guarded": self.guard,
        }


def server_date(response: httpx.Response) -> float | None:
    """The unix time in a response's ``Date`` header, or None when it has none or an unreadable one."""
    header = response.headers.get("date")
    if not header:
        return None
    try:
        return parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        log.warning("server Date header unreadable: %r", header)
        return None

"""Clock safety: the time decide() is given, guarded by the monotonic clock and the last known good time.

A gate stands for days without network, and a Pi without its RTC battery boots at 1970 (or at whatever the
fake-hwclock saved) after a power cut. A wrong wall clock must not let anyone in who should not be: a
backward jump would make an expired permit valid again; a forward jump would start a new day's entries and
end anti-passback early. So ``GateClock`` does not take the wall clock on trust:

- It keeps an *anchor*, a (wall time, monotonic time) pair it believes, and estimates the time as
  ``anchor wall + monotonic elapsed``; the monotonic clock never jumps.
- The wall clock is *suspect* when its year is before ``MIN_YEAR``, when it is before the last known good
  time the store kept (``meta`` ``clock.last_good``), or when it left the estimate by more than ``DRIFT_S``.
- While it is suspect, decisions use the estimate — never the jumped wall time — and their events carry
  the ``clock_suspect`` flag so the server and the ranger can check them.
- A good time comes back with the next sync: the server's ``Date`` header (``note_server_date``). It becomes
  the anchor and the last known good time, and once the gate's time comes from the server again its events
  are no longer flagged, even while the wall clock itself stays wrong (a Pi with no RTC and no NTP).

After a boot without a clock the estimate is the last known good time plus the time since the gate
started: a lower bound of the true time (the hours the power was off are unknown). Validity checks then
lean towards admitting a permit that expired while the gate was dark, bounded by the outage; the events
are flagged and the server sees them. The last known good time is saved every ``PERSIST_EVERY_S`` while the
clock is trusted (``tick`` is called by the housekeeping thread), so that bound stays small.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from gate.errors import StoreError
from gate.store import GateStore

log = logging.getLogger(__name__)

FLAG_CLOCK_SUSPECT = "clock_suspect"
MIN_YEAR = 2024  # no gate ran before this: an earlier wall clock is a clock that lost its time
MIN_TRUSTED = datetime(MIN_YEAR, 1, 1, tzinfo=UTC).timestamp()
DRIFT_S = 120.0  # wall clock vs. monotonic estimate; NTP slews far less than this
BEHIND_LAST_GOOD_S = 5.0  # the saved last good time is rounded; allow that much
PERSIST_EVERY_S = 60.0
META_LAST_GOOD = "clock.last_good"


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
    ) -> None:
        self._store = store
        self._wall = wall
        self._mono = monotonic
        self.guard = guard
        self.drift_s = drift_s
        self._lock = threading.Lock()
        self.last_good = self._load_last_good()
        self.from_server = False  # the anchor came from the server's Date header
        self.server_offset: float | None = None  # server time - wall clock at the last sync
        self._persisted_at = self._mono()
        wall_now, mono_now = self._wall(), self._mono()
        self._problem = self._check(wall_now, wall_now) if guard else None
        if self._problem is None:
            self._anchor = (wall_now, mono_now)
        else:
            # nothing better known than the last good time: the estimate is a lower bound of the true time
            self._anchor = (max(self.last_good or 0.0, MIN_TRUSTED), mono_now)
            log.warning(
                "clock suspect at start: %s; deciding on %.0f + time since start", self._problem, self._anchor[0]
            )

    def _load_last_good(self) -> float | None:
        if self._store is None:
            return None
        text = self._store.meta(META_LAST_GOOD)
        try:
            return None if text is None else float(text)
        except ValueError:
            log.error("stored %s is not a number: %r; ignored", META_LAST_GOOD, text)
            return None

    def _check(self, wall: float, estimate: float) -> str | None:
        """Why the wall clock cannot be believed, or None."""
        if wall < MIN_TRUSTED:
            return f"wall clock is before {MIN_YEAR} ({datetime.fromtimestamp(wall, UTC):%Y-%m-%d})"
        if self.last_good is not None and wall < self.last_good - BEHIND_LAST_GOOD_S:
            return f"wall clock is {self.last_good - wall:.0f} s behind the last known good time"
        if abs(wall - estimate) > self.drift_s:
            way = "ahead" if wall > estimate else "back"
            return f"wall clock jumped {abs(wall - estimate):.0f} s {way}"
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
                return ClockReading(wall, False)
            if problem != self._problem:
                log.warning("clock suspect: %s; deciding on the monotonic estimate", problem)
            self._problem = problem
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
            self.last_good = max(self.last_good or 0.0, server_time)
        # every sync response brings a Date; an fsynced write for each would make decisions wait on the lock
        if first_or_recovering or self._mono() - self._persisted_at >= PERSIST_EVERY_S:
            self._persist(server_time)

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
                self.last_good = max(self.last_good or 0.0, reading.at)
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

"""The housekeeping thread: saves the clock's last good time, measures free space, prunes uploaded events.

Off the decision path: everything here may take a write lock for a moment, and none of it is urgent.
"""

from __future__ import annotations

import logging
import threading

from gate.clock import GateClock
from gate.disk import DiskGuard
from gate.errors import GateError
from gate.store import GateStore

log = logging.getLogger(__name__)

INTERVAL_S = 30.0
PRUNE_EVERY = 120  # rounds: retention is pruned about once an hour


class Housekeeper:
    """Runs ``round()`` every ``interval_s`` on a daemon thread until ``stop()``."""

    def __init__(self, store: GateStore, clock: GateClock, disk: DiskGuard, interval_s: float = INTERVAL_S) -> None:
        self.store = store
        self.clock = clock
        self.disk = disk
        self.interval_s = interval_s
        self.rounds = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def round(self) -> None:
        """One round: clock tick, free space, and (every ``PRUNE_EVERY`` rounds, or when space is low) pruning."""
        self.clock.tick()
        state = self.disk.check()
        if state.low:
            log.warning("free space low at %s: %d bytes", self.disk.path, state.free_bytes)
        if self.rounds % PRUNE_EVERY == 0 or state.alarm:
            pruned = self.disk.prune(self.store, self.clock.read().at)
            if pruned:
                log.info("pruned %d uploaded events", pruned)
        self.rounds += 1

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="gate-housekeeping", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10.0)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.round()
            except GateError as err:
                log.error("housekeeping: %s", err)
            except Exception:
                log.exception("housekeeping round failed unexpectedly; next round as usual")
            self._stop.wait(self.interval_s)

"""Disk safety: a full disk is an alarm, never a lost or corrupted decision.

Policy when the disk is full (SQLite says "database or disk is full", SQLITE_FULL):

1. The decision that could not be written is **not acted on**: the barrier stays closed, the lights show
   nothing, and the ranger page shows the alarm. DESIGN.md's rule is that nothing a gate decided is ever
   lost, and an event is written before the relay moves; opening for a decision with no event would break
   it. (No in-memory journal: it would be lost in the very power cut the UPS is there for.)
2. Before giving up, ``DiskGuard.record`` frees room by deleting events the server already accepted *and*
   already counted (uploaded before the park snapshot's ``counted_at``, so the gate's local capacity counts
   do not change), then tries the write once more. A gate that syncs keeps deciding.
3. The ranger page, ``status()["disk"]`` and the metrics show ``alarm`` while the last write failed for
   lack of space or free space is under ``[store] min_free_mb``. A manual open fails the same way (the
   ranger is told it was not recorded and opens by the barrier's mechanical key).
4. Nothing is corrupted: SQLite rolls a failed transaction back whole (WAL, ``synchronous=FULL``); tests
   fill a store with ``PRAGMA max_page_count`` and run ``integrity_check``.

Retention: events the server accepted more than ``[store] retention_days`` ago are pruned by the
housekeeping thread; events not yet uploaded are never pruned, whatever their age.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from gate.decision import Decision
from gate.errors import StoreError
from gate.store import GateStore
from protocol import GateEvent

log = logging.getLogger(__name__)

SQLITE_FULL = 13
DAY_S = 86400.0


class DiskFullError(StoreError):
    """An event could not be written for lack of space; the barrier stayed closed."""


def is_disk_full(err: BaseException) -> bool:
    """Whether ``err`` (or an error it was raised from) is SQLite's "database or disk is full"."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, sqlite3.Error) and (
            getattr(seen, "sqlite_errorcode", None) == SQLITE_FULL or "disk is full" in str(seen)
        ):
            return True
        if isinstance(seen, OSError) and seen.errno == 28:  # ENOSPC
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@dataclass(frozen=True)
class DiskState:
    """The store's filesystem as last checked."""

    free_bytes: int
    total_bytes: int
    low: bool  # free space under the threshold
    full: bool  # the last event write failed for lack of space
    alarm: bool
    pruned: int  # events pruned since start (retention and emergency)
    error: str | None  # the last write failure's text, for the ranger


class DiskGuard:
    """Watches free space next to the store and writes events under the disk-full policy above."""

    def __init__(self, path: Path, min_free_bytes: int, retention_days: float) -> None:
        self.path = path
        self.min_free_bytes = min_free_bytes
        self.retention_s = retention_days * DAY_S
        self._lock = threading.Lock()
        self._free = -1
        self._total = -1
        self._full = False
        self._error: str | None = None
        self.pruned = 0

    def check(self) -> DiskState:
        """Measure free space now (shutil.disk_usage on the store's folder)."""
        try:
            usage = shutil.disk_usage(self.path if self.path.is_dir() else self.path.parent)
        except OSError as err:
            log.error("cannot measure free space at %s: %s", self.path, err)
        else:
            with self._lock:
                self._free, self._total = usage.free, usage.total
        return self.state()

    def state(self) -> DiskState:
        with self._lock:
            low = 0 <= self._free < self.min_free_bytes
            return DiskState(self._free, self._total, low, self._full, low or self._full, self.pruned, self._error)

    def record(self, store: GateStore, decision: Decision, event: GateEvent) -> int:
        """``store.record`` under the disk-full policy; raises DiskFullError when there is still no room."""
        try:
            seq = store.record(decision, event)
        except StoreError as err:
            if not is_disk_full(err):
                raise
            log.error("disk full: event %s not written; freeing room", event.id)
            if self.free_room(store) == 0:
                self._note_full(str(err))
                raise DiskFullError(f"disk full: {event.id} not recorded, the barrier stays closed") from err
            try:
                seq = store.record(decision, event)
            except StoreError as again:
                self._note_full(str(again))
                raise DiskFullError(f"disk full: {event.id} not recorded, the barrier stays closed") from again
        with self._lock:
            if self._full:
                log.info("events are written again")
            self._full = False
            self._error = None
        return seq

    def _note_full(self, error: str) -> None:
        with self._lock:
            self._full = True
            self._error = error

    def free_room(self, store: GateStore) -> int:
        """Delete events the server accepted and already counted (see the policy); returns how many."""
        park = store.park()
        counted_at = 0.0 if park is None else float(park.counted_at)
        try:
            deleted = store.prune_uploaded(counted_at)
        except StoreError as err:
            log.error("cannot free room: %s", err)
            return 0
        with self._lock:
            self.pruned += deleted
        if deleted:
            log.warning("disk full: pruned %d uploaded events", deleted)
        return deleted

    def prune(self, store: GateStore, now: float | None = None) -> int:
        """Retention: delete events uploaded more than ``retention_days`` ago; more when space is low."""
        now = time.time() if now is None else now
        deleted = store.prune_uploaded(now - self.retention_s)
        with self._lock:
            self.pruned += deleted
        if self.state().low:
            deleted += self.free_room(store)
        return deleted

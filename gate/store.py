"""The gate's local store: SQLite through sqlite-utils, WAL, ``synchronous=FULL``.

One ``GateStore`` owns one connection (guarded by a lock, so any thread may call it). The decision thread
and the sync loop each open their own ``GateStore`` on the same file: WAL lets the sync writer and the
decision path's readers work side by side, and neither waits on the other's Python lock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from sqlite_utils import Database

from gate.decision import (
    Decision,
    ListedCard,
    ListedPermit,
    ListedPlatePermit,
    ListedVehiclePass,
    Load,
    Policy,
    Usage,
    local_day,
)
from gate.errors import StoreError
from gate.events import checked_event
from gate.migrations import MIGRATIONS
from gate.private_files import private_sqlite
from protocol import (
    CardRole,
    Direction,
    GateEvent,
    Keyring,
    KeyringError,
    ParkSettings,
    SyncPage,
    ZoneSettings,
    normalize_uid,
    refusal_reason,
)
from protocol.fields import MAX_NAME_CHARS, clean_line
from protocol.plates import normalize_plate

BUSY_TIMEOUT_MS = 10_000
SYNC_CHUNK_ROWS = 5_000  # permits per write transaction while applying a sync page
CACHE_KIB = 32_768  # the permit b-tree's hot pages; 1M permits is ~30 MB on disk
_PERMIT_ID_CHARS = 16
_PERMIT_ID_BYTES = 10

# a page carries every column of a changed permit, so replacing the row is an upsert (and cheaper than ON CONFLICT)
_UPSERT_PERMIT = (
    "INSERT OR REPLACE INTO permits (id, valid_from, valid_until, revoked, plate, people, entries_per_day) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_ENTRY_USAGE = (
    "INSERT INTO usage (permit_id, inside, last_entry_at, day, entries_today) VALUES (?, 1, ?, ?, 1) "
    "ON CONFLICT (permit_id) DO UPDATE SET inside = 1, last_entry_at = excluded.last_entry_at, "
    "entries_today = CASE WHEN day = excluded.day THEN entries_today + 1 ELSE 1 END, day = excluded.day"
)
_EXIT_USAGE = (
    "INSERT INTO usage (permit_id, inside, last_exit_at) VALUES (?, 0, ?) "
    "ON CONFLICT (permit_id) DO UPDATE SET inside = 0, last_exit_at = excluded.last_exit_at"
)
_UPSERT_CARD = (
    "INSERT OR REPLACE INTO cards (uid, holder, role, valid_from, valid_until, active) VALUES (?, ?, ?, ?, ?, ?)"
)
_CARD_ENTRY_USAGE = (
    "INSERT INTO card_usage (uid, inside, last_entry_at, day, entries_today) VALUES (?, 1, ?, ?, 1) "
    "ON CONFLICT (uid) DO UPDATE SET inside = 1, last_entry_at = excluded.last_entry_at, "
    "entries_today = CASE WHEN day = excluded.day THEN entries_today + 1 ELSE 1 END, day = excluded.day"
)
_CARD_EXIT_USAGE = (
    "INSERT INTO card_usage (uid, inside, last_exit_at) VALUES (?, 0, ?) "
    "ON CONFLICT (uid) DO UPDATE SET inside = 0, last_exit_at = excluded.last_exit_at"
)
_UPSERT_PASS = (
    "INSERT OR REPLACE INTO vehicle_passes (plate, holder, vehicle_class, valid_from, valid_until, active) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_PASS_ENTRY_USAGE = (
    "INSERT INTO plate_usage (plate, inside, last_entry_at, day, entries_today) VALUES (?, 1, ?, ?, 1) "
    "ON CONFLICT (plate) DO UPDATE SET inside = 1, last_entry_at = excluded.last_entry_at, "
    "entries_today = CASE WHEN day = excluded.day THEN entries_today + 1 ELSE 1 END, day = excluded.day"
)
_PASS_EXIT_USAGE = (
    "INSERT INTO plate_usage (plate, inside, last_exit_at) VALUES (?, 0, ?) "
    "ON CONFLICT (plate) DO UPDATE SET inside = 0, last_exit_at = excluded.last_exit_at"
)
_INSERT_EVENT = (
    "INSERT INTO events (id, occurred_at, direction, credential, reason, granted, people, permit_id, category, "
    "flags, note, day, card_uid, plate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_EVENT_COLUMNS = (
    "id, occurred_at, direction, credential, reason, granted, people, permit_id, category, flags, note, card_uid, plate"
)
# still to be sent: neither accepted by the server nor set aside (events_pending holds uploaded_at IS NULL)
_PENDING = "uploaded_at IS NULL AND refused_at IS NULL"
MAX_SET_ASIDE_REASON_CHARS = 1000
SUMMARY_SET_ASIDE = 20  # set-aside events listed by summary() with their reasons


@dataclass(frozen=True)
class SetAside:
    """An event that will never be sent: a server refused it, or it is not a valid event any more."""

    id: str
    occurred_at: int  # unix ms
    reason: str
    refused_at: float  # unix seconds


@dataclass(frozen=True)
class SyncState:
    cursor: str | None
    last_sync_at: float | None  # unix seconds of the last complete, successful cycle
    last_attempt_at: float | None
    last_error: str | None


def _base32_table() -> np.ndarray[Any, np.dtype[np.uint8]]:
    table = np.full(256, 255, dtype=np.uint8)
    for value, char in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"):
        table[char] = value
        table[ord(chr(char).lower())] = value
    return table


_BASE32 = _base32_table()


def permit_ids_to_bytes(ids: Sequence[str]) -> list[bytes]:
    """Permit id texts → 10-byte ids, in bulk (a page has 50k): base32 decoded with numpy, 16 chars = 80 bits."""
    if not ids:
        return []
    if any(len(text) != _PERMIT_ID_CHARS for text in ids):
        raise StoreError("a permit id has 16 characters")
    try:
        chars = np.frombuffer("".join(ids).encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError as err:
        raise StoreError("a permit id is not base32") from err
    values = _BASE32[chars]
    if (values == 255).any():
        raise StoreError("a permit id is not base32")
    # each character carries 5 bits: keep the low 5 of each byte's 8, then pack 80 bits into 10 bytes
    bits = np.unpackbits(values.reshape(-1, _PERMIT_ID_CHARS, 1), axis=2)[:, :, 3:]
    raw = np.packbits(bits.reshape(-1, _PERMIT_ID_CHARS * 5), axis=1).tobytes()
    n = _PERMIT_ID_BYTES
    return [raw[i : i + n] for i in range(0, len(raw), n)]


def _event_from_row(row: Sequence[Any]) -> GateEvent:
    # checked as a new event is: a plate an older release stored as typed ("777 ABE 01") still goes up
    return checked_event(
        {
            "id": row[0],
            "occurred_at": row[1],
            "direction": row[2],
            "credential": row[3],
            "reason": row[4],
            "granted": bool(row[5]),
            "people": row[6],
            "permit_id": row[7],
            "category": row[8],
            "flags": json.loads(row[9]),
            "note": row[10],
            "card_uid": row[11],
            "plate": row[12],
        }
    )


def _check_plate(plate: str | None) -> None:
    """A synced plate must be in protocol.plates.normalize_plate form, or lookups by the read plate miss it."""
    if plate is not None and (not plate or normalize_plate(plate) != plate):
        raise StoreError(f"sync page has a plate not in normalised form: {plate!r}")


class GateStore:
    """The gate's SQLite file: permits, cards, keys, park settings, sync state, usage and the event outbox."""

    def __init__(self, path: str | Path, *, durable: bool = True) -> None:
        """``durable=False`` is for the sync loop's connection: what it writes (permits, cursor, upload marks)
        is fetched or uploaded again if a power cut loses it, so its commits need not wait for fsync."""
        self.path = Path(path)
        try:
            private_sqlite(self.path)  # 0600 (and a new directory 0700): its permits, cards and plates are private
            # isolation_level=None: transactions are ours (BEGIN IMMEDIATE), never opened behind our back
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise StoreError(f"{self.path}: cannot switch to WAL (journal_mode is {mode})")
            # FULL: a committed event survives a power cut, which a barrier that already opened needs
            conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
            conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            self.db = Database(conn)
        except (OSError, sqlite3.Error) as err:
            raise StoreError(f"cannot open store {self.path}: {err}") from err
        self.conn = conn
        self._lock = threading.RLock()
        self.migrate()

    # -- plumbing

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: taken IMMEDIATE so it never fails half-way on a lock upgrade."""
        with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as err:
                raise StoreError(f"cannot begin a transaction: {err}") from err
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as err:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise StoreError(f"commit failed: {err}") from err

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def __enter__(self) -> GateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def migrate(self) -> list[str]:
        """Apply the migrations not yet recorded, each in its own transaction; returns the names applied."""
        applied: list[str] = []
        with self._lock:
            self.conn.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
            done = {row[0] for row in self.conn.execute("SELECT name FROM migrations")}
            for migration in MIGRATIONS:
                name = migration.__name__
                if name in done:
                    continue
                try:
                    with self.transaction() as conn:
                        migration(self.db)
                        conn.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, time.time()))
                except sqlite3.Error as err:
                    raise StoreError(f"migration {name} failed: {err}") from err
                applied.append(name)
        return applied

    def applied_migrations(self) -> list[str]:
        with self._lock:
            return [row[0] for row in self.conn.execute("SELECT name FROM migrations ORDER BY rowid")]

    def pragma(self, name: str) -> object:
        with self._lock:
            return self.conn.execute(f"PRAGMA {name}").fetchone()[0]

    def data_version(self) -> int:
        """Changes whenever another connection commits to the file (cheap: no disk access)."""
        with self._lock:
            value: int = self.conn.execute("PRAGMA data_version").fetchone()[0]
            return value

    # -- decisions

    def record(self, decision: Decision, event: GateEvent) -> int:
        """Write the event and the permit's or card's usage in one committed transaction; returns the event's seq.

        Called before the relay moves: once this returns, the decision survives a power cut.
        """
        permit_id = decision.permit_id
        try:
            with self.transaction() as conn:
                if decision.granted and permit_id is not None:
                    if decision.direction is Direction.ENTRY:
                        conn.execute(_ENTRY_USAGE, (permit_id, int(decision.at), decision.day.isoformat()))
                    else:
                        conn.execute(_EXIT_USAGE, (permit_id, int(decision.at)))
                if decision.granted and decision.card_uid is not None:
                    if decision.direction is Direction.ENTRY:
                        conn.execute(_CARD_ENTRY_USAGE, (decision.card_uid, int(decision.at), decision.day.isoformat()))
                    else:
                        conn.execute(_CARD_EXIT_USAGE, (decision.card_uid, int(decision.at)))
                if decision.granted and decision.pass_plate is not None:
                    if decision.direction is Direction.ENTRY:
                        conn.execute(
                            _PASS_ENTRY_USAGE, (decision.pass_plate, int(decision.at), decision.day.isoformat())
                        )
                    else:
                        conn.execute(_PASS_EXIT_USAGE, (decision.pass_plate, int(decision.at)))
                cursor = conn.execute(
                    _INSERT_EVENT,
                    (
                        event.id,
                        event.occurred_at,
                        event.direction.value,
                        event.credential.value,
                        event.reason.value,
                        int(event.granted),
                        event.people,
                        event.permit_id,
                        event.category,
                        json.dumps(event.flags),
                        event.note,
                        decision.day.isoformat(),
                        event.card_uid,
                        event.plate,
                    ),
                )
                seq = cursor.lastrowid
        except sqlite3.Error as err:
            raise StoreError(f"cannot record event {event.id}: {err}") from err
        assert seq is not None
        return seq

    def lookup(self, permit_id: bytes) -> ListedPermit | None:
        """The synced list's entry for a permit, or None when it is not listed."""
        with self._lock:
            row = self.conn.execute(
                "SELECT valid_from, valid_until, revoked FROM permits WHERE id = ?", (permit_id,)
            ).fetchone()
        return None if row is None else ListedPermit(row[0], row[1], bool(row[2]))

    def _usage(self, table: str, key: str, value: bytes | str, day: date) -> Usage:
        with self._lock:
            row = self.conn.execute(
                f"SELECT inside, last_entry_at, day, entries_today, last_exit_at FROM {table} WHERE {key} = ?",
                (value,),
            ).fetchone()
        if row is None:
            return Usage()
        return Usage(bool(row[0]), row[1], row[3] if row[2] == day.isoformat() else 0, row[4])

    def usage(self, permit_id: bytes, day: date) -> Usage:
        return self._usage("usage", "permit_id", permit_id, day)

    def lookup_card(self, uid: str) -> ListedCard | None:
        """The synced list's entry for a card (``uid`` in protocol.normalize_uid form), or None."""
        with self._lock:
            row = self.conn.execute(
                "SELECT holder, role, valid_from, valid_until, active FROM cards WHERE uid = ?", (uid,)
            ).fetchone()
        if row is None:
            return None
        try:
            role = CardRole(row[1])
        except ValueError as err:
            raise StoreError(f"stored card {uid} has an unknown role {row[1]!r}") from err
        return ListedCard(row[0], role, row[2], row[3], bool(row[4]))

    def card_usage(self, uid: str, day: date) -> Usage:
        return self._usage("card_usage", "uid", uid, day)

    def plate_permits(self, plate: str) -> list[ListedPlatePermit]:
        """Every listed permit of a normalised plate (revoked and out-of-date ones too); the plate index."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT id, valid_from, valid_until, revoked, people, entries_per_day FROM permits WHERE plate = ?",
                (plate,),
            ).fetchall()
        return [ListedPlatePermit(row[0], row[1], row[2], bool(row[3]), row[4], row[5] or 0) for row in rows]

    def permits_for_plate(self, plate: str, now: float, skew_s: int = 0) -> list[ListedPlatePermit]:
        """The listed permits of a normalised plate that are valid at ``now`` (± ``skew_s``) and not revoked."""
        return [
            p
            for p in self.plate_permits(plate)
            if not p.revoked and p.valid_from - skew_s <= now <= p.valid_until + skew_s
        ]

    def vehicle_pass(self, plate: str) -> ListedVehiclePass | None:
        """The synced vehicle pass of a normalised plate, or None."""
        with self._lock:
            row = self.conn.execute(
                "SELECT plate, holder, vehicle_class, valid_from, valid_until, active FROM vehicle_passes "
                "WHERE plate = ?",
                (plate,),
            ).fetchone()
        return None if row is None else ListedVehiclePass(row[0], row[1], row[2], row[3], row[4], bool(row[5]))

    def plate_usage(self, plate: str, day: date) -> Usage:
        return self._usage("plate_usage", "plate", plate, day)

    def keyring(self) -> Keyring:
        with self._lock:
            jwks = [json.loads(row[0]) for row in self.conn.execute("SELECT jwk FROM keys ORDER BY kid")]
        try:
            return Keyring.from_jwks({"keys": jwks})
        except KeyringError as err:
            raise StoreError(f"stored keys are unreadable: {err}") from err

    def park(self) -> ParkSettings | None:
        with self._lock:
            row = self.conn.execute("SELECT settings FROM park WHERE id = 1").fetchone()
        if row is None:
            return None
        try:
            return ParkSettings.model_validate_json(row[0])
        except ValidationError as err:
            raise StoreError(f"stored park settings are unreadable: {err}") from err

    def local_loads(self, park: ParkSettings, day: date) -> list[Load]:
        """The park's load on ``day``, then its zone's: the server's snapshot + this gate's events it had not
        counted (all of them count for the gate's zone too)."""
        # events uploaded after the snapshot was counted (or not uploaded yet) are not in the server's numbers;
        # an event set aside never will be, and is left out here too: a day decided on a clock at 1970 must not
        # keep the gate's park full for good
        since = park.counted_at
        with self._lock:
            # two index seeks joined by UNION ALL: "IS NULL OR > ?" in one WHERE would scan every retained
            # event on every decision of a park with a capacity
            entries, exits, entries_day = self.conn.execute(
                "SELECT "
                " coalesce(sum(CASE WHEN direction = 'entry' THEN people END), 0),"
                " coalesce(sum(CASE WHEN direction = 'exit' THEN people END), 0),"
                " coalesce(sum(CASE WHEN direction = 'entry' AND day = ? THEN people END), 0) "
                f"FROM (SELECT direction, people, day FROM events WHERE granted = 1 AND {_PENDING}"
                " UNION ALL"
                " SELECT direction, people, day FROM events WHERE granted = 1 AND uploaded_at > ?)",
                (day.isoformat(), since),
            ).fetchone()
        same_day = local_day(park.counted_at, park) == day
        counted: list[tuple[str, ParkSettings | ZoneSettings]] = [("park", park)]
        if park.zone is not None:
            counted.append((f"zone {park.zone.slug}", park.zone))
        return [
            Load(
                where,
                max(0, limits.occupancy + entries - exits),
                (limits.entries_today if same_day else 0) + entries_day,
                limits.capacity,
                limits.daily_quota,
            )
            for where, limits in counted
        ]

    def local_counts(self, park: ParkSettings, day: date) -> tuple[int, int]:
        """(people inside, entries on ``day``) in the park, as far as this gate knows."""
        load = self.local_loads(park, day)[0]
        return load.inside, load.entries_today

    # -- meta, retention, counts

    def meta(self, key: str) -> str | None:
        """A value kept across restarts (``meta`` table), or None."""
        with self._lock:
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        try:
            with self.transaction() as conn:
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
        except sqlite3.Error as err:
            raise StoreError(f"cannot write {key}: {err}") from err

    def prune_uploaded(self, uploaded_before: float) -> int:
        """Delete events the server accepted before ``uploaded_before`` (unix seconds); never a pending one."""
        try:
            with self.transaction() as conn:
                cursor = conn.execute(
                    "DELETE FROM events WHERE uploaded_at IS NOT NULL AND uploaded_at < ?", (uploaded_before,)
                )
                return cursor.rowcount
        except sqlite3.Error as err:
            raise StoreError(f"cannot prune uploaded events: {err}") from err

    def day_counts(self, day: date) -> dict[str, int]:
        """This gate's events of a park-local day: decisions, granted, refused, manual opens, people through."""
        with self._lock:
            row = self.conn.execute(
                "SELECT count(*), coalesce(sum(granted), 0), coalesce(sum(reason = 'manual'), 0),"
                " coalesce(sum(people), 0) FROM events WHERE day = ?",
                (day.isoformat(),),
            ).fetchone()
        return {"decisions": row[0], "granted": row[1], "refused": row[0] - row[1], "manual": row[2], "people": row[3]}

    def view(self, policy: Policy) -> StoreView:
        """The read-only LocalState that decide() reads, over this store."""
        return StoreView(self, policy)

    # -- sync

    def apply_sync_page(self, page: SyncPage) -> None:
        """Apply one page of the server's change feed; its cursor moves only once the whole page is in.

        Bad content (a permit id that is not one, an unreadable key) raises StoreError and changes nothing.
        """
        columns = page.permits
        ids = permit_ids_to_bytes(columns.id)
        keyring = None
        if page.keys is not None:
            try:
                keyring = Keyring.from_jwks({"keys": page.keys})
            except KeyringError as err:
                raise StoreError(f"sync page has a bad key: {err}") from err
        cards = page.cards
        for uid in cards.uid:
            try:
                canonical = normalize_uid(uid)
            except ValueError as err:
                raise StoreError(f"sync page has a bad card uid: {err}") from err
            if canonical != uid:
                raise StoreError(f"sync page has a card uid not in canonical form: {uid!r}")
        absent: list[None] = [None] * len(columns)
        plates = columns.plate if columns.plate is not None else absent
        people = columns.people if columns.people is not None else absent
        entries = columns.entries_per_day if columns.entries_per_day is not None else absent
        for plate in plates:
            _check_plate(plate)
        passes = page.vehicle_passes
        for plate in passes.plate:
            _check_plate(plate)
        pass_rows = [
            (plate, clean_line(holder, MAX_NAME_CHARS), vehicle_class, valid_from, valid_until, int(active))
            for plate, holder, vehicle_class, valid_from, valid_until, active in zip(
                passes.plate,
                passes.holder,
                passes.vehicle_class,
                passes.valid_from,
                passes.valid_until,
                passes.active,
                strict=True,
            )
        ]
        card_rows = [
            (uid, clean_line(holder, MAX_NAME_CHARS), role.value, valid_from, valid_until, int(active))
            for uid, holder, role, valid_from, valid_until, active in zip(
                cards.uid, cards.holder, cards.role, cards.valid_from, cards.valid_until, cards.active, strict=True
            )
        ]
        # in key order the b-tree is walked once from left to right instead of at random
        rows = sorted(
            zip(ids, columns.valid_from, columns.valid_until, columns.revoked, plates, people, entries, strict=True),
            key=itemgetter(0),
        )
        try:
            # A decision waits for the write lock before its event commits; short chunks keep that wait to
            # milliseconds while a fresh gate takes a million permits. Upserts are idempotent and the cursor
            # moves only with the last chunk, so a page cut short by a crash is simply fetched again.
            chunks = [rows[i : i + SYNC_CHUNK_ROWS] for i in range(0, len(rows), SYNC_CHUNK_ROWS)] or [[]]
            for chunk in chunks[:-1]:
                with self.transaction() as conn:
                    conn.executemany(_UPSERT_PERMIT, chunk)
            with self.transaction() as conn:
                conn.executemany(_UPSERT_PERMIT, chunks[-1])
                conn.executemany(_UPSERT_CARD, card_rows)  # a park has hundreds of cards, not millions
                conn.executemany(_UPSERT_PASS, pass_rows)  # and passes by the thousand at most
                if keyring is not None:
                    conn.execute("DELETE FROM keys")
                    trusted = keyring.keys()
                    conn.executemany(
                        "INSERT INTO keys (kid, jwk) VALUES (?, ?)", [(k.kid, json.dumps(k.to_jwk())) for k in trusted]
                    )
                if page.park is not None:
                    conn.execute(
                        "INSERT OR REPLACE INTO park (id, settings, received_at) VALUES (1, ?, ?)",
                        (page.park.model_dump_json(), time.time()),
                    )
                conn.execute("UPDATE sync_state SET cursor = ? WHERE id = 1", (page.cursor,))
        except sqlite3.Error as err:
            raise StoreError(f"cannot apply sync page: {err}") from err

    def sync_state(self) -> SyncState:
        with self._lock:
            row = self.conn.execute(
                "SELECT cursor, last_sync_at, last_attempt_at, last_error FROM sync_state WHERE id = 1"
            ).fetchone()
        return SyncState(*row)

    def note_sync(self, ok: bool, error: str | None = None, at: float | None = None) -> None:
        """Record the end of a sync cycle: success sets last_sync_at, a failure keeps it and stores the error."""
        at = time.time() if at is None else at
        try:
            with self.transaction() as conn:
                if ok:
                    conn.execute(
                        "UPDATE sync_state SET last_sync_at = ?, last_attempt_at = ?, last_error = NULL WHERE id = 1",
                        (at, at),
                    )
                else:
                    conn.execute("UPDATE sync_state SET last_attempt_at = ?, last_error = ? WHERE id = 1", (at, error))
        except sqlite3.Error as err:
            raise StoreError(f"cannot record sync state: {err}") from err

    def pending_events(self, limit: int) -> list[GateEvent]:
        """The oldest events still to be sent to the server, in the order they happened (none set aside).

        A stored event that is no valid ``protocol.GateEvent`` any more (an older release wrote it, e.g. a
        note with a NUL) is set aside here with the reason, as a server would refuse it: it never blocks the
        events after it.
        """
        while True:
            with self._lock:
                rows = self.conn.execute(
                    f"SELECT {_EVENT_COLUMNS} FROM events WHERE {_PENDING} ORDER BY seq LIMIT ?", (limit,)
                ).fetchall()
            events: list[GateEvent] = []
            unsendable: list[tuple[str, str]] = []
            for row in rows:
                try:
                    events.append(_event_from_row(row))
                except ValueError as err:  # a ValidationError, or flags that are not JSON
                    why = refusal_reason(err) if isinstance(err, ValidationError) else str(err)
                    unsendable.append((row[0], f"not a valid event, so never sent: {why}"))
            if not unsendable:
                return events
            self.set_aside(unsendable)
            if events:
                return events

    def mark_uploaded(self, ids: Sequence[str], at: float | None = None) -> int:
        """Mark events as accepted by the server; returns how many were pending."""
        at = time.time() if at is None else at
        try:
            with self.transaction() as conn:
                cursor = conn.executemany(
                    "UPDATE events SET uploaded_at = ? WHERE id = ? AND uploaded_at IS NULL",
                    [(at, event_id) for event_id in ids],
                )
                return cursor.rowcount
        except sqlite3.Error as err:
            raise StoreError(f"cannot mark events uploaded: {err}") from err

    def set_aside(self, refusals: Sequence[tuple[str, str]], at: float | None = None) -> int:
        """Set events aside as refused, each ``(id, reason)``: they stay in the store and are shown (summary,
        ``qaqpa-tools check``, the server's gate health), are never sent again and never pruned. Returns how
        many pending events were set aside."""
        at = time.time() if at is None else at
        rows = [(at, reason[:MAX_SET_ASIDE_REASON_CHARS], event_id) for event_id, reason in refusals]
        try:
            with self.transaction() as conn:
                cursor = conn.executemany(
                    f"UPDATE events SET refused_at = ?, refused_reason = ? WHERE id = ? AND {_PENDING}", rows
                )
                return cursor.rowcount
        except sqlite3.Error as err:
            raise StoreError(f"cannot set events aside: {err}") from err

    def resend_set_aside(self, ids: Sequence[str] = ()) -> int:
        """Put set-aside events (those of ``ids``, or all) back in the outbox, e.g. after the server was fixed
        to take what it refused; one refused again is set aside again. Returns how many went back."""
        where = "refused_at IS NOT NULL AND uploaded_at IS NULL"
        try:
            with self.transaction() as conn:
                if not ids:
                    return conn.execute(
                        f"UPDATE events SET refused_at = NULL, refused_reason = NULL WHERE {where}"
                    ).rowcount
                cursor = conn.executemany(
                    f"UPDATE events SET refused_at = NULL, refused_reason = NULL WHERE id = ? AND {where}",
                    [(event_id,) for event_id in ids],
                )
                return cursor.rowcount
        except sqlite3.Error as err:
            raise StoreError(f"cannot put set-aside events back in the outbox: {err}") from err

    def set_aside_events(self, limit: int = -1) -> list[SetAside]:
        """The events set aside, newest first."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT id, occurred_at, refused_reason, refused_at FROM events WHERE refused_at IS NOT NULL "
                "ORDER BY seq DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [SetAside(*row) for row in rows]

    def set_aside_count(self) -> int:
        with self._lock:
            count: int = self.conn.execute("SELECT count(*) FROM events WHERE refused_at IS NOT NULL").fetchone()[0]
        return count

    # -- reading back

    def events(self, after_seq: int = 0, limit: int = -1) -> list[GateEvent]:
        """Events in the order they happened, after ``after_seq``."""
        with self._lock:
            rows = self.conn.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit)
            ).fetchall()
        return [_event_from_row(row) for row in rows]

    def outbox_depth(self) -> int:
        with self._lock:
            count: int = self.conn.execute(f"SELECT count(*) FROM events WHERE {_PENDING}").fetchone()[0]
        return count

    def summary(self) -> dict[str, Any]:
        """Counts for ``qaqpa-gate status`` and health pages."""
        with self._lock:
            permits, revoked = self.conn.execute("SELECT count(*), coalesce(sum(revoked), 0) FROM permits").fetchone()
            events, pending = self.conn.execute(
                f"SELECT count(*), count(*) FILTER (WHERE {_PENDING}) FROM events"
            ).fetchone()
            keys = self.conn.execute("SELECT count(*) FROM keys").fetchone()[0]
            cards, cards_active = self.conn.execute("SELECT count(*), coalesce(sum(active), 0) FROM cards").fetchone()
            passes, passes_active = self.conn.execute(
                "SELECT count(*), coalesce(sum(active), 0) FROM vehicle_passes"
            ).fetchone()
        state = self.sync_state()
        park = self.park()
        set_aside = self.set_aside_events(SUMMARY_SET_ASIDE)
        return {
            "path": str(self.path),
            "permits": permits,
            "revoked": revoked,
            "keys": keys,
            "cards": cards,
            "cards_active": cards_active,
            "vehicle_passes": passes,
            "vehicle_passes_active": passes_active,
            "park": park.slug if park else None,
            "events": events,
            "outbox": pending,
            "set_aside": self.set_aside_count(),
            "set_aside_events": [asdict(event) for event in set_aside],  # the newest, with reasons
            "cursor": state.cursor,
            "last_sync_at": state.last_sync_at,
            "last_error": state.last_error,
        }


class StoreView:
    """decide()'s LocalState over a GateStore; keys and park settings are re-read only after the file changed."""

    def __init__(self, store: GateStore, policy: Policy) -> None:
        self._store = store
        self._policy = policy
        self._version = -1
        self._keyring = Keyring()
        self._park: ParkSettings | None = None

    def refresh(self) -> None:
        """Re-read keys and park settings if another connection committed since the last look."""
        version = self._store.data_version()
        if version != self._version:
            self._keyring = self._store.keyring()
            self._park = self._store.park()
            self._version = version

    @property
    def policy(self) -> Policy:
        return self._policy

    @property
    def keyring(self) -> Keyring:
        return self._keyring

    @property
    def park(self) -> ParkSettings | None:
        return self._park

    def listed(self, permit_id: bytes) -> ListedPermit | None:
        return self._store.lookup(permit_id)

    def usage(self, permit_id: bytes, day: date) -> Usage:
        return self._store.usage(permit_id, day)

    def listed_card(self, uid: str) -> ListedCard | None:
        return self._store.lookup_card(uid)

    def card_usage(self, uid: str, day: date) -> Usage:
        return self._store.card_usage(uid, day)

    def loads(self, day: date) -> list[Load]:
        return [] if self._park is None else self._store.local_loads(self._park, day)

    def plate_permits(self, plate: str) -> list[ListedPlatePermit]:
        return self._store.plate_permits(plate)

    def vehicle_pass(self, plate: str) -> ListedVehiclePass | None:
        return self._store.vehicle_pass(plate)

    def plate_usage(self, plate: str, day: date) -> Usage:
        return self._store.plate_usage(plate, day)

"""The store's schema, as small named migrations applied in order and recorded in the ``migrations`` table.

Never edit a migration that has shipped: add a new one at the end of ``MIGRATIONS``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlite_utils import Database

Migration = Callable[[Database], None]


def m001_initial(db: Database) -> None:
    # permit ids are 10 random bytes: a WITHOUT ROWID table keyed by the blob is one b-tree lookup
    db.execute(
        """CREATE TABLE permits (
            id BLOB PRIMARY KEY,
            valid_from INTEGER NOT NULL,
            valid_until INTEGER NOT NULL,
            revoked INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE TABLE keys (kid TEXT PRIMARY KEY, jwk TEXT NOT NULL)")
    db.execute(
        """CREATE TABLE park (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            settings TEXT NOT NULL,
            received_at REAL NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE sync_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            cursor TEXT,
            last_sync_at REAL,
            last_attempt_at REAL,
            last_error TEXT
        )"""
    )
    db.execute("INSERT INTO sync_state (id) VALUES (1)")
    db.execute(
        """CREATE TABLE usage (
            permit_id BLOB PRIMARY KEY,
            inside INTEGER NOT NULL DEFAULT 0,
            last_entry_at INTEGER,
            last_exit_at INTEGER,
            day TEXT,
            entries_today INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID"""
    )
    # the outbox: seq orders it (AUTOINCREMENT never reuses a number), id is the UUIDv7 the server dedupes by;
    # uploaded_at NULL = not yet accepted by the server
    db.execute(
        """CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            occurred_at INTEGER NOT NULL,
            direction TEXT NOT NULL,
            credential TEXT NOT NULL,
            reason TEXT NOT NULL,
            granted INTEGER NOT NULL,
            people INTEGER NOT NULL,
            permit_id TEXT,
            category TEXT,
            flags TEXT NOT NULL DEFAULT '[]',
            note TEXT,
            day TEXT NOT NULL,
            uploaded_at REAL
        )"""
    )
    db.execute("CREATE INDEX events_pending ON events (seq) WHERE uploaded_at IS NULL")
    db.execute("CREATE INDEX events_uploaded_at ON events (uploaded_at) WHERE granted = 1")


def m002_cards(db: Database) -> None:
    # cards of the gate's park as synced (uid is protocol.normalize_uid text); an inactive row is a card
    # that was deactivated or withdrawn from this park, which decide() tells apart from an unknown card
    db.execute(
        """CREATE TABLE cards (
            uid TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            role TEXT NOT NULL,
            valid_from INTEGER NOT NULL,
            valid_until INTEGER NOT NULL,
            active INTEGER NOT NULL
        ) WITHOUT ROWID"""
    )
    # anti-passback for cards, as ``usage`` is for permits
    db.execute(
        """CREATE TABLE card_usage (
            uid TEXT PRIMARY KEY,
            inside INTEGER NOT NULL DEFAULT 0,
            last_entry_at INTEGER,
            last_exit_at INTEGER,
            day TEXT,
            entries_today INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID"""
    )
    db.execute("ALTER TABLE events ADD COLUMN card_uid TEXT")


def m003_vehicles(db: Database) -> None:
    # a vehicle permit's normalised plate (protocol.plates), so a vehicle lane admits the car by its plate;
    # the partial index leaves the many pedestrian permits (plate NULL) out of it, so a full sync stays fast
    db.execute("ALTER TABLE permits ADD COLUMN plate TEXT")
    db.execute("CREATE INDEX permits_plate ON permits (plate) WHERE plate IS NOT NULL")
    # vehicle passes of the gate's park as synced; an inactive row is a pass deactivated or withdrawn
    db.execute(
        """CREATE TABLE vehicle_passes (
            plate TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            vehicle_class TEXT NOT NULL,
            valid_from INTEGER NOT NULL,
            valid_until INTEGER NOT NULL,
            active INTEGER NOT NULL
        ) WITHOUT ROWID"""
    )
    # anti-passback for vehicle passes, as ``usage`` is for permits and ``card_usage`` for cards
    db.execute(
        """CREATE TABLE plate_usage (
            plate TEXT PRIMARY KEY,
            inside INTEGER NOT NULL DEFAULT 0,
            last_entry_at INTEGER,
            last_exit_at INTEGER,
            day TEXT,
            entries_today INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID"""
    )
    db.execute("ALTER TABLE events ADD COLUMN plate TEXT")


def m004_meta(db: Database) -> None:
    # small facts the gate keeps across restarts (gate.clock's last known good time), one row each
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
    # the ranger page's "today" counts read one day's events
    db.execute("CREATE INDEX events_day ON events (day)")


def m005_plate_party(db: Database) -> None:
    # a vehicle permit's party and entries per day, so a car admitted by its plate alone counts its people
    # and keeps to its entries as its QR would; NULL: the feed did not say (an older server), count the driver
    db.execute("ALTER TABLE permits ADD COLUMN people INTEGER")
    db.execute("ALTER TABLE permits ADD COLUMN entries_per_day INTEGER")
    # a gate that already holds vehicle permits pulls its list again to learn their parties (upserts are
    # idempotent, so a full sync only refreshes rows)
    db.execute("UPDATE sync_state SET cursor = NULL WHERE EXISTS (SELECT 1 FROM permits WHERE plate IS NOT NULL)")


def m006_refused_events(db: Database) -> None:
    # an event a server refused (or one this release can no longer send) is set aside: kept, shown, never sent
    # again and never pruned (pruning takes uploaded events only); NULL refused_at = still to be sent
    db.execute("ALTER TABLE events ADD COLUMN refused_at REAL")
    db.execute("ALTER TABLE events ADD COLUMN refused_reason TEXT")
    db.execute("CREATE INDEX events_refused ON events (seq) WHERE refused_at IS NOT NULL")


MIGRATIONS: list[Migration] = [
    m001_initial,
    m002_cards,
    m003_vehicles,
    m004_meta,
    m005_plate_party,
    m006_refused_events,
]

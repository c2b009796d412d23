"""Engine creation, the schema (SQLAlchemy Core tables) and ``upgrade`` to the newest Alembic revision.

The tables here and the Alembic revisions in ``server/migrations/versions`` describe the same schema;
``tests/server/test_migrations.py`` fails when they drift apart.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Engine

from server.private_files import locked, private_sqlite

metadata = sa.MetaData()

# beside a SQLite file: the lock that processes starting together on it take turns under to migrate it
MIGRATION_LOCK_SUFFIX = "-migrate.lock"

# Which events ix_events_offline_entries holds: admissions on entry of a permit decided while offline
OFFLINE_ENTRY = "direction = 'entry' AND granted AND permit_id IS NOT NULL AND flags LIKE '%offline%'"

parks = sa.Table(
    "parks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("slug", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("daily_quota", sa.Integer, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    # how many minutes before its entry slot a slot booking's permit admits (revision 0007)
    sa.Column("slot_early_minutes", sa.Integer, nullable=False, server_default="0"),
)

gates = sa.Table(
    "gates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), nullable=False),
    sa.Column("slug", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("direction", sa.String(8), nullable=False),
    # sha256 hex of the device token; the token itself is shown once and never stored
    sa.Column("device_token_hash", sa.String(64), nullable=True, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("park_id", "slug", name="uq_gates_park_slug"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), nullable=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

access_tokens = sa.Table(
    "access_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
)

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.String(64), primary_key=True),
    sa.Column("public_key", sa.LargeBinary(32), nullable=False),
    sa.Column("not_before", sa.BigInteger, nullable=True),
    sa.Column("not_after", sa.BigInteger, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

# Change sequence numbers come from this table's autoincrement key: it works the same on SQLite and
# PostgreSQL and across processes. Writers of permits and cards hold a lock from allocation to commit (see
# ``server.changes``) so numbers become visible in order and a gate's cursor never skips a change.
# Each row names what changed: a permit, a card's access to one park, or a vehicle pass's.
change_seq = sa.Table(
    "change_seq",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("permit_id", sa.String(16), nullable=True),
    sa.Column("card_id", sa.Integer, nullable=True),
    sa.Column("pass_id", sa.Integer, nullable=True),  # added by revision 0003
    sqlite_autoincrement=True,
)

permits = sa.Table(
    "permits",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),  # protocol.permit_id_text
    sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), nullable=False),
    sa.Column("valid_from", sa.BigInteger, nullable=False),
    sa.Column("valid_until", sa.BigInteger, nullable=False),
    sa.Column("adults", sa.Integer, nullable=False),
    sa.Column("children", sa.Integer, nullable=False),
    sa.Column("exempt", sa.Integer, nullable=False),
    sa.Column("plate", sa.String(16), nullable=True),
    sa.Column("entries_per_day", sa.Integer, nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("issued_at", sa.BigInteger, nullable=False),
    sa.Column("kid", sa.String(64), nullable=False),
    sa.Column("token", sa.Text, nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False),
    sa.Column("revoked_at", sa.BigInteger, nullable=True),
    sa.Column("change_seq", sa.BigInteger, nullable=False, unique=True),
    # the admin who issued it beyond the day's or slot's quota, on purpose (revision 0007)
    sa.Column("quota_override_by", sa.String(100), nullable=True),
    sa.Index("ix_permits_park_change", "park_id", "change_seq"),
)

# RFID cards of rangers, staff, guides and residents. ``uid`` is protocol.normalize_uid text.
cards = sa.Table(
    "cards",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("uid", sa.String(32), nullable=False, unique=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("valid_from", sa.BigInteger, nullable=True),  # NULL: no start
    sa.Column("valid_until", sa.BigInteger, nullable=True),  # NULL: no end
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

# Which parks a card opens. A withdrawn park keeps its row with active false, so the park's gates learn
# of the withdrawal through the change feed; every change to the card renumbers its rows' change_seq.
card_parks = sa.Table(
    "card_parks",
    metadata,
    sa.Column("card_id", sa.Integer, sa.ForeignKey("cards.id"), primary_key=True),
    sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), primary_key=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("change_seq", sa.BigInteger, nullable=False, unique=True),
    sa.Index("ix_card_parks_park_change", "park_id", "change_seq"),
)

# Annual and resident passes of a vehicle, by its plate alone (protocol.plates.normalize_plate text).
vehicle_passes = sa.Table(
    "vehicle_passes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("plate", sa.String(16), nullable=False, unique=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("vehicle_class", sa.String(16), nullable=False),
    sa.Column("valid_from", sa.BigInteger, nullable=True),  # NULL: no start
    sa.Column("valid_until", sa.BigInteger, nullable=True),  # NULL: no end
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

# Which parks a vehicle pass opens, kept like ``card_parks``: a withdrawn park keeps its row (active false).
vehicle_pass_parks = sa.Table(
    "vehicle_pass_parks",
    metadata,
    sa.Column("pass_id", sa.Integer, sa.ForeignKey("vehicle_passes.id"), primary_key=True),
    sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), primary_key=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("change_seq", sa.BigInteger, nullable=False, unique=True),
    sa.Index("ix_vehicle_pass_parks_park_change", "park_id", "change_seq"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),  # gate-made UUIDv7
    sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), nullable=False),
    sa.Column("gate_id", sa.Integer, sa.ForeignKey("gates.id"), nullable=False),
    sa.Column("occurred_at", sa.BigInteger, nullable=False),  # unix ms, gate clock
    sa.Column("direction", sa.String(8), nullable=False),
    sa.Column("credential", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("granted", sa.Boolean, nullable=False),
    sa.Column("people", sa.Integer, nullable=False),
    sa.Column("permit_id", sa.String(64), nullable=True),
    sa.Column("category", sa.String(32), nullable=True),
    sa.Column("flags", sa.String(64), nullable=False),  # comma-separated protocol flags
    sa.Column("note", sa.String(500), nullable=True),
    sa.Column("received_at", sa.BigInteger, nullable=False),
    sa.Column("card_uid", sa.String(32), nullable=True),  # added by revision 0002, hence late
    sa.Column("plate", sa.String(16), nullable=True),  # added by revision 0003, hence last
    sa.Index("ix_events_park_time", "park_id", "occurred_at"),
    # the dashboard's offline conflicts read only offline admissions, a small share of all events (0006);
    # the query adds the same OFFLINE_ENTRY text to its WHERE: both planners match a partial index's
    # condition term by term, and a bound parameter in place of a literal would not match
    sa.Index(
        "ix_events_offline_entries",
        "park_id",
        "occurred_at",
        sqlite_where=sa.text(OFFLINE_ENTRY),
        postgresql_where=sa.text(OFFLINE_ENTRY),
    ),
)


def _rollup(name: str, time_column: str, counters: tuple[str, ...], by_kind: bool) -> sa.Table:
    """A roll-up keyed by park, time and gate (and, ``by_kind``, direction, reason and category)."""
    kind = [
        sa.Column("direction", sa.String(8), primary_key=True),
        sa.Column("reason", sa.String(32), primary_key=True),
        sa.Column("category", sa.String(32), primary_key=True),  # '' when the event had none
    ]
    return sa.Table(
        name,
        metadata,
        sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), primary_key=True),
        sa.Column(time_column, sa.BigInteger, primary_key=True),
        sa.Column("gate_id", sa.Integer, sa.ForeignKey("gates.id"), primary_key=True),
        *(kind if by_kind else []),
        *(sa.Column(counter, sa.BigInteger, nullable=False) for counter in counters),
    )


# Roll-ups of events by gate, direction, reason and category, kept up to date at ingest, so stats,
# occupancy and exports read a few rows per hour or day instead of every event (revision 0004).
# ``hour``: unix seconds at the start of the UTC hour (parks' zones are whole hours from UTC, so a local
# hour is a UTC hour); ``day``: unix seconds at the park-local midnight (``server.park_time``, revision 0006
# moved it from a fixed UTC+5 to the park's zone).
event_counts = _rollup("event_counts", "hour", ("events", "people"), by_kind=True)
event_days = _rollup("event_days", "day", ("events", "people"), by_kind=True)


# People admitted in and out per gate, by UTC hour and by park-local day (revision 0006): the dashboard's
# load numbers (inside now, profiles, heatmap, daily and monthly totals) read one row per gate and hour or
# day here instead of the dozens per hour that reason × category × direction make in the roll-ups above.
# Keyed by gate like those, so concurrent uploads of two gates never wait on one row.
people_hours = _rollup("people_hours", "hour", ("entered", "exited"), by_kind=False)
people_days = _rollup("people_days", "day", ("entered", "exited"), by_kind=False)

# What each gate last said about itself when it synced (``X-Gate-Status``); revision 0004.
gate_health = sa.Table(
    "gate_health",
    metadata,
    sa.Column("gate_id", sa.Integer, sa.ForeignKey("gates.id"), primary_key=True),
    sa.Column("last_seen_at", sa.BigInteger, nullable=False),
    sa.Column("outbox", sa.Integer, nullable=True),
    sa.Column("readers", sa.Text, nullable=True),  # JSON object: reader name -> status text
    sa.Column("software", sa.String(64), nullable=True),
    sa.Column("refused", sa.Integer, nullable=True),  # events the gate set aside as refused (revision 0009)
)

# Events a gate sent that the server did not store, and why (revision 0009): a bad event is refused alone,
# the rest of its batch is stored, and managers see it here. ``event`` is the event as sent, as ASCII JSON cut to
# a few kilobytes (never a NUL or a bidi override, whatever the gate sent); ``event_id`` is None when the id
# itself was unreadable. A gate that sends one again (an older release retrying) adds no second row.
refused_events = sa.Table(
    "refused_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), nullable=False),
    sa.Column("gate_id", sa.Integer, sa.ForeignKey("gates.id"), nullable=False),
    sa.Column("event_id", sa.String(36), nullable=True),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("event", sa.Text, nullable=False),
    sa.Column("received_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("gate_id", "event_id", name="uq_refused_events_gate_event"),
    sa.Index("ix_refused_events_park_received", "park_id", "received_at"),
)

# Server-side sessions of the web pages: the cookie holds the id, only its sha256 is stored (revision 0004).
web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
)


# Entry time slots of parks that admit visitors by time (revision 0005): a park with no rows here takes
# bookings for the whole day. ``start_minute`` is minutes after the park-local midnight; ``quota`` people.
booking_slots = sa.Table(
    "booking_slots",
    metadata,
    sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), primary_key=True),
    sa.Column("start_minute", sa.Integer, primary_key=True),
    sa.Column("minutes", sa.Integer, nullable=False),
    sa.Column("quota", sa.Integer, nullable=False),
)

# What a visitor booked, beside the permit it produced (revision 0005): the park-local day, the slot, the
# price and an optional payment reference. No name, phone or e-mail: the permit needs none.
bookings = sa.Table(
    "bookings",
    metadata,
    sa.Column("permit_id", sa.String(16), sa.ForeignKey("permits.id"), primary_key=True),
    sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("slot_minute", sa.Integer, nullable=True),
    sa.Column("people", sa.Integer, nullable=False),
    sa.Column("party", sa.String(200), nullable=False),  # JSON: the party by category, for the permit page
    sa.Column("price_tiyn", sa.BigInteger, nullable=False),
    sa.Column("payment_reference", sa.String(64), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_bookings_park_day", "park_id", "day"),
)

# Zones of a park with their own limits (revision 0007): a canyon or a lake shore that holds fewer people
# than the park. A gate belongs to at most one zone (``zone_gates``); its entries and exits count for the
# zone as well as the park, and it applies both parks' and its zone's limits (0 = no limit).
zones = sa.Table(
    "zones",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), nullable=False),
    sa.Column("slug", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("daily_quota", sa.Integer, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("park_id", "slug", name="uq_zones_park_slug"),
)

zone_gates = sa.Table(
    "zone_gates",
    metadata,
    sa.Column("gate_id", sa.Integer, sa.ForeignKey("gates.id"), primary_key=True),
    sa.Column("zone_id", sa.Integer, sa.ForeignKey("zones.id"), nullable=False),
    # when the gate joined the zone (unix s; revision 0008): its events count for the zone from that hour on,
    # 0 for a gate placed before 0008 (all its history, as then)
    sa.Column("joined_at", sa.BigInteger, nullable=False, server_default="0"),
    sa.Index("ix_zone_gates_zone", "zone_id"),
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets gates read (sync) while events are written; busy_timeout makes concurrent writers wait
    # for the lock instead of failing at once. FULL: a batch the server acknowledged to a gate survives a
    # power cut (with NORMAL the last commits before it may roll back, and the gate never sends them again).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite engine's database; None for PostgreSQL and for SQLite in memory."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL, a busy timeout and foreign keys on every connection, and
    are readable by their owner only (``server.private_files``)."""
    engine = sa.create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        database = sqlite_file(engine)
        if database is not None:
            private_sqlite(database)
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def alembic_config(engine: Engine) -> Config:
    """An Alembic config built in code, so migrations run from an installed package without alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    # configparser treats % as interpolation; URLs carry it in escapes such as options=-csearch_path%3D...
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema revision (idempotent).

    Processes starting together on one database take turns, so only the first migrates: on PostgreSQL
    under an advisory lock (``server/migrations/env.py``), on a SQLite file under a lock on a file beside it.
    """
    with _migration_lock(engine):
        command.upgrade(alembic_config(engine), "head")


def _migration_lock(engine: Engine) -> AbstractContextManager[None]:
    database = sqlite_file(engine)
    if database is None:
        return nullcontext()  # PostgreSQL: the advisory lock in server/migrations/env.py
    return locked(database.with_name(database.name + MIGRATION_LOCK_SUFFIX), "migrating")

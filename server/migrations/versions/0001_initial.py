"""Initial schema: parks, gates, users, access tokens, signing keys, permits with a change feed, events.

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("daily_quota", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "gates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("device_token_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("park_id", "slug", name="uq_gates_park_slug"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), nullable=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "access_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("not_before", sa.BigInteger, nullable=True),
        sa.Column("not_after", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "change_seq",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("permit_id", sa.String(16), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "permits",
        sa.Column("id", sa.String(16), primary_key=True),
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
    )
    op.create_index("ix_permits_park_change", "permits", ["park_id", "change_seq"])
    op.create_table(
        "events",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), nullable=False),
        sa.Column("gate_id", sa.Integer, sa.ForeignKey("gates.id"), nullable=False),
        sa.Column("occurred_at", sa.BigInteger, nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("credential", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("granted", sa.Boolean, nullable=False),
        sa.Column("people", sa.Integer, nullable=False),
        sa.Column("permit_id", sa.String(64), nullable=True),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("flags", sa.String(64), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("received_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_events_park_time", "events", ["park_id", "occurred_at"])
    op.create_table(
        "event_counts",
        sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), primary_key=True),
        sa.Column("hour", sa.BigInteger, primary_key=True),
        sa.Column("direction", sa.String(8), primary_key=True),
        sa.Column("reason", sa.String(32), primary_key=True),
        sa.Column("events", sa.BigInteger, nullable=False),
        sa.Column("people", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for index, table in (("ix_events_park_time", "events"), ("ix_permits_park_change", "permits")):
        op.drop_index(index, table_name=table)
    for table in (
        "event_counts",
        "events",
        "permits",
        "change_seq",
        "signing_keys",
        "access_tokens",
        "users",
        "gates",
        "parks",
    ):
        op.drop_table(table)

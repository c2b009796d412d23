"""RFID cards: the card registry, the parks each card opens, cards in the change feed, card uids on events.

Revision ID: 0002
Revises: 0001
Create Date: 2025-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cards",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(32), nullable=False, unique=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("valid_from", sa.BigInteger, nullable=True),
        sa.Column("valid_until", sa.BigInteger, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "card_parks",
        sa.Column("card_id", sa.Integer, sa.ForeignKey("cards.id"), primary_key=True),
        sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), primary_key=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("change_seq", sa.BigInteger, nullable=False, unique=True),
    )
    op.create_index("ix_card_parks_park_change", "card_parks", ["park_id", "change_seq"])
    # SQLite cannot drop NOT NULL in place: batch mode copies the table, keeping AUTOINCREMENT so that
    # sequence numbers are never reused
    with op.batch_alter_table("change_seq", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.alter_column("permit_id", existing_type=sa.String(16), nullable=True)
        batch.add_column(sa.Column("card_id", sa.Integer, nullable=True))
    op.add_column("events", sa.Column("card_uid", sa.String(32), nullable=True))


def downgrade() -> None:
    op.drop_column("events", "card_uid")
    op.execute("DELETE FROM change_seq WHERE permit_id IS NULL")
    with op.batch_alter_table("change_seq", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("card_id")
        batch.alter_column("permit_id", existing_type=sa.String(16), nullable=False)
    op.drop_index("ix_card_parks_park_change", table_name="card_parks")
    op.drop_table("card_parks")
    op.drop_table("cards")

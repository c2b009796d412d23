"""The change feed's sequence numbers, shared by permits, cards and vehicle passes (one cursor per gate)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from server.db import change_seq

# Any constant shared by every server process: it serialises writers of the feed on PostgreSQL.
_CHANGE_LOCK = 715032


def next_seq(
    conn: Connection, *, permit_id: str | None = None, card_id: int | None = None, pass_id: int | None = None
) -> int:
    """A new change number for a permit, a card or a vehicle pass; gates see it once the caller commits."""
    # A gate's cursor skips nothing only if change numbers become visible in increasing order. On
    # PostgreSQL a transaction lock held until commit serialises feed writers across processes; SQLite
    # already allows one writer at a time.
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_CHANGE_LOCK)))
    seq = conn.execute(
        change_seq.insert().values(permit_id=permit_id, card_id=card_id, pass_id=pass_id).returning(change_seq.c.seq)
    ).scalar_one()
    return int(seq)

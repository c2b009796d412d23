"""One page of a gate's change feed: permits, cards and vehicle passes of its park, merged in change order.

All kinds share the change numbers (``server.changes``), so one cursor covers them all. Each kind is read
up to ``limit`` rows; the page ends where the first kind that has more stops, so no change is skipped.

The kinds are read by separate queries, and another process may commit between them (PostgreSQL's READ
COMMITTED, SQLite's autocommit reads). So the page first fixes the highest change number committed so far
and reads nothing above it: writers commit change numbers in order (``server.changes``), so everything up
to that number is already visible to every query, and a change committed meanwhile waits for the next page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from server.cards import card_changes_after
from server.db import change_seq
from server.permits import changes_after
from server.vehicle_passes import pass_changes_after


@dataclass(frozen=True)
class FeedPage:
    permits: dict[str, list[Any]]
    cards: dict[str, list[Any]]
    vehicle_passes: dict[str, list[Any]]
    cursor: int
    complete: bool


def _take(columns: dict[str, list[Any]], n: int) -> dict[str, list[Any]]:
    return {name: values[:n] for name, values in columns.items()}


def feed_after(conn: Connection, park_id: int, cursor: int, limit: int) -> FeedPage:
    """At most ``limit`` changes (permits, cards, vehicle passes) of the park after ``cursor``, oldest first."""
    until = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(change_seq.c.seq), 0))).scalar_one())
    permits = changes_after(conn, park_id, cursor, limit, until)
    cards = card_changes_after(conn, park_id, cursor, limit, until)
    passes = pass_changes_after(conn, park_id, cursor, limit, until)
    kinds = (permits, cards, passes)
    if not cards.seqs and not passes.seqs:  # the common case, and the hot one: a fresh gate pulling permits
        return FeedPage(
            permits.columns, cards.columns, passes.columns, permits.cursor, permits.complete and cards.complete
        )
    # Changes beyond what a kind returned are newer than its last row: the page may not go past that row.
    bound = min([page.seqs[-1] for page in kinds if not page.complete and page.seqs], default=None)
    seqs = sorted(s for page in kinds for s in page.seqs if bound is None or s <= bound)[:limit]
    last = seqs[-1]
    taken = [sum(1 for s in page.seqs if s <= last) for page in kinds]
    complete = all(page.complete for page in kinds) and sum(taken) == sum(len(page.seqs) for page in kinds)
    return FeedPage(
        _take(permits.columns, taken[0]),
        _take(cards.columns, taken[1]),
        _take(passes.columns, taken[2]),
        last,
        complete,
    )

"""One page of a gate's change feed: permits and cards of its park, merged in change order.

Permits and cards share the change numbers (``server.changes``), so one cursor covers both. Each kind is
read up to ``limit`` rows; the page ends where the first kind that has more stops, so no change is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from server.cards import card_changes_after
from server.permits import changes_after


@dataclass(frozen=True)
class FeedPage:
    permits: dict[str, list[Any]]
    cards: dict[str, list[Any]]
    cursor: int
    complete: bool


def _take(columns: dict[str, list[Any]], n: int) -> dict[str, list[Any]]:
    return {name: values[:n] for name, values in columns.items()}


def feed_after(conn: Connection, park_id: int, cursor: int, limit: int) -> FeedPage:
    """At most ``limit`` changes (permits and cards) of the park after ``cursor``, oldest first."""
    permits = changes_after(conn, park_id, cursor, limit)
    cards = card_changes_after(conn, park_id, cursor, limit)
    if not cards.seqs:  # the common case, and the hot one: a fresh gate pulling a million permits
        return FeedPage(permits.columns, cards.columns, permits.cursor, permits.complete and cards.complete)
    # Changes beyond what a kind returned are newer than its last row: the page may not go past that row.
    bound = min([page.seqs[-1] for page in (permits, cards) if not page.complete and page.seqs], default=None)
    seqs = sorted(s for s in permits.seqs + cards.seqs if bound is None or s <= bound)[:limit]
    last = seqs[-1]
    n_permits = sum(1 for s in permits.seqs if s <= last)
    n_cards = sum(1 for s in cards.seqs if s <= last)
    complete = permits.complete and cards.complete and n_permits + n_cards == len(permits.seqs) + len(cards.seqs)
    return FeedPage(_take(permits.columns, n_permits), _take(cards.columns, n_cards), last, complete)

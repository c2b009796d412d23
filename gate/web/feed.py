"""The live feed: the controller's decisions, kept as a short history the ranger page streams (SSE).

The controller calls ``Feed.__call__`` on its decision thread; page streams wait in worker threads with
``wait_after``. Items are plain dicts of what was decided and what was read, with no language in them: the
page renders each for the ranger's language.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from gate.decision import Decision
from protocol import GateEvent, permit_id_text

HISTORY = 50


class Feed:
    """A numbered ring of the last ``HISTORY`` decisions; streams ask for what came after a number."""

    def __init__(
        self, holder: Callable[[str], str | None] | None = None, on_item: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        """``holder(uid)`` names a card's holder (the store's list); ``on_item`` sees each item (card login)."""
        self._holder = holder
        self._on_item = on_item
        self._items: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self._seq = 0
        self._cond = threading.Condition()
        self.closed = False

    def __call__(self, decision: Decision, event: GateEvent) -> None:
        """The controller's listener: one decision recorded and acted on."""
        item = describe(decision, event, self._holder)
        with self._cond:
            self._seq += 1
            item["seq"] = self._seq
            self._items.append(item)
            self._cond.notify_all()
        if self._on_item is not None:
            self._on_item(item)

    def after(self, seq: int) -> list[dict[str, Any]]:
        with self._cond:
            return [item for item in self._items if item["seq"] > seq]

    def latest(self, n: int) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._items)[-n:]

    def wait_after(self, seq: int, timeout: float) -> list[dict[str, Any]]:
        """Items after ``seq``, waiting up to ``timeout`` seconds for one; [] on timeout or when closed."""
        with self._cond:
            self._cond.wait_for(lambda: self.closed or self._seq > seq, timeout)
            return [item for item in self._items if item["seq"] > seq]

    def close(self) -> None:
        """End the streams waiting on the feed (the page is stopping)."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()


def describe(decision: Decision, event: GateEvent, holder: Callable[[str], str | None] | None = None) -> dict[str, Any]:
    """What the ranger sees of one decision: reason, direction, people, and what was read."""
    permit = decision.permit
    return {
        "id": event.id,
        "at": event.occurred_at / 1000,
        "reason": event.reason,
        "granted": event.granted,
        "direction": event.direction.value,
        "credential": event.credential.value,
        "people": event.people,
        "flags": list(event.flags),
        "note": event.note,
        "plate": event.plate,
        "permit": None
        if permit is None
        else {
            "id": permit.id_text,
            "party": list(permit.party),
            "valid_from": permit.valid_from,
            "valid_until": permit.valid_until,
            "category": permit.category,
            "plate": permit.plate,
        },
        "listed_permit": None if decision.plate_permit_id is None else permit_id_text(decision.plate_permit_id),
        "card": None
        if decision.card_uid is None
        else {
            "uid": decision.card_uid,
            "role": None if decision.card_role is None else decision.card_role.value,
            "holder": None if holder is None else holder(decision.card_uid),
        },
    }

"""The live feed: the controller's decisions, kept as a short history the ranger page streams (SSE).

The controller calls ``Feed.__call__`` on its decision thread; page streams wait in worker threads with
``wait_after``. Items are plain dicts of what was decided and what was read, with no language in them: the
page renders each for the ranger's language.

Items are numbered from 1 in each run of the gate; ``epoch`` names the run, so a page that was open while
the gate restarted (the watchdog, a power cut) sees numbers from another run and starts over instead of
waiting for the new run to count past the number it had. A plate decision keeps the plate reader's crop
(in memory, as long as its item) for the page to show.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from gate.decision import Decision
from gate.qr import Frame
from protocol import GateEvent, permit_id_text

HISTORY = 50


class Feed:
    """A numbered ring of the last ``HISTORY`` decisions; streams ask for what came after a number."""

    def __init__(
        self,
        holder: Callable[[str], str | None] | None = None,
        on_item: Callable[[dict[str, Any]], None] | None = None,
        crop: Callable[[str], Frame | None] | None = None,
    ) -> None:
        """``holder(uid)`` names a card's holder (the store's list); ``on_item`` sees each item (card login);
        ``crop(plate)`` is the image the plate was read from (the controller's)."""
        self._holder = holder
        self._on_item = on_item
        self._crop = crop
        self._items: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self._crops: dict[int, Frame] = {}
        self._seq = 0
        self._cond = threading.Condition()
        self.epoch = secrets.token_hex(4)
        self.closed = False

    def __call__(self, decision: Decision, event: GateEvent) -> None:
        """The controller's listener: one decision recorded and acted on."""
        item = describe(decision, event, self._holder)
        crop = None if event.plate is None or self._crop is None else self._crop(event.plate)
        item["has_crop"] = crop is not None
        with self._cond:
            self._seq += 1
            item["seq"] = self._seq
            self._items.append(item)
            if crop is not None:
                self._crops[self._seq] = crop
            oldest = self._items[0]["seq"]
            for seq in [seq for seq in self._crops if seq < oldest]:
                del self._crops[seq]
            self._cond.notify_all()
        if self._on_item is not None:
            self._on_item(item)

    def position(self, mark: str | None) -> int:
        """The number a stream continues after, from its ``epoch-seq`` mark: 0 for a mark of another run (the
        page saw the gate before a restart), the newest number for no mark (only what comes next)."""
        if mark is None:
            with self._cond:
                return self._seq
        epoch, _, seq = mark.partition("-")
        if epoch != self.epoch or not seq.isascii() or not seq.isdigit():
            return 0
        return int(seq)

    def mark(self, seq: int) -> str:
        """The ``epoch-seq`` mark of item ``seq`` (SSE ids, the page's starting point)."""
        return f"{self.epoch}-{seq}"

    def crop(self, seq: int) -> Frame | None:
        """The plate crop of item ``seq``, while it is in the history."""
        with self._cond:
            return self._crops.get(seq)

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

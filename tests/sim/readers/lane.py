"""A reader started against a simulated module, its reads on a queue; polling helpers with timeouts."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from gate.readers.base import CardRead, SerialCardReader

WAIT_S = 10.0  # generous: the machine is shared; tests poll, they never assert on time


def wait_for(condition: Callable[[], bool], timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


class Lane:
    """The reader under test and what it reported."""

    def __init__(self, reader: SerialCardReader) -> None:
        self.reader = reader
        self.reads: queue.Queue[CardRead] = queue.Queue()

    def next_read(self, timeout: float = WAIT_S) -> CardRead:
        return self.reads.get(timeout=timeout)

    def connected(self) -> None:
        wait_for(lambda: self.reader.health().connected)


@contextmanager
def running(reader: SerialCardReader) -> Iterator[Lane]:
    lane = Lane(reader)
    reader.start(lane.reads.put)
    try:
        lane.connected()
        yield lane
    finally:
        reader.stop()

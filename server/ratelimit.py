"""Rate limits for anonymous visitors and logins: token buckets per client address (or other key), in memory.

In memory, per server process: behind a load balancer with N processes a client gets up to N times the
rate, which is still a bound; the point is to stop scripted floods of bookings, not to meter fairly.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request


@dataclass(frozen=True)
class RateLimit:
    """``burst`` requests at once, then ``per_minute`` a minute."""

    per_minute: float = 60.0
    burst: int = 30


class TokenBuckets:
    """One bucket per key; ``take(key)`` answers 0 when allowed, else the seconds to wait."""

    MAX_KEYS = 100_000

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> int:
        rate = self.limit.per_minute / 60.0
        with self._lock:
            now = self.clock()
            tokens, at = self._buckets.get(key, (float(self.limit.burst), now))
            tokens = min(float(self.limit.burst), tokens + (now - at) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > self.MAX_KEYS:
                    self._forget_full(now, rate)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / rate))

    def give_back(self, key: str) -> None:
        """Return the token a ``take(key)`` spent, for a request that turned out not to count."""
        with self._lock:
            if key in self._buckets:
                tokens, at = self._buckets[key]
                self._buckets[key] = (min(float(self.limit.burst), tokens + 1.0), at)

    def _forget_full(self, now: float, rate: float) -> None:
        # a bucket that has refilled is the same as no bucket: drop those to bound memory
        full = [k for k, (t, at) in self._buckets.items() if t + (now - at) * rate >= self.limit.burst]
        for key in full:
            del self._buckets[key]


def client_address(request: Request) -> str:
    """The key of a client's buckets: its address as the app sees it (the forwarded one behind a trusted proxy,
    ``server.app``)."""
    return request.client.host if request.client else "unknown"

"""UUIDv7 (RFC 9562): 48-bit unix milliseconds, then random bits; Python 3.11 has no ``uuid.uuid7``.

Ids made in one process are strictly increasing even within one millisecond or when the clock steps back,
so the outbox order and the id order agree.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_last_seq = 0  # the 12-bit rand_a field, used as a counter within one millisecond
_SEQ_MAX = 0xFFF


def uuid7(now_ms: int | None = None) -> uuid.UUID:
    """A new UUIDv7; ``now_ms`` overrides the clock (unix milliseconds)."""
    global _last_ms, _last_seq
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    with _lock:
        if ms > _last_ms:
            _last_ms = ms
            # start the counter in the lower half so many ids fit in the same millisecond
            _last_seq = int.from_bytes(os.urandom(2), "big") & 0x7FF
        else:
            _last_seq += 1
            if _last_seq > _SEQ_MAX:
                _last_ms += 1
                _last_seq = 0
        ms, seq = _last_ms, _last_seq
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | seq << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def uuid7_text(now_ms: int | None = None) -> str:
    """A new UUIDv7 as its canonical lowercase text."""
    return str(uuid7(now_ms))

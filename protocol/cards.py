"""RFID card ids as gate and server compare them.

Readers report the same card in different shapes: EM4100 modules as 10 hex digits (40 bits), PN532 as
4 or 7 raw UID bytes, ASCII readers as hex or decimal text, Wiegand bridges as facility code + card number,
OSDP readers as raw bits. The registry and the gate store one canonical text: uppercase hex of the bytes the
reader delivered, no separators (``0A1B2C3D4E``). Converting a reader's output into those bytes is the
reader's job; this module only normalises text.
"""

from __future__ import annotations

import re

_HEX = re.compile(r"^[0-9A-F]+$")
_SEPARATORS = re.compile(r"[\s:\-]")
MAX_UID_BYTES = 16


def normalize_uid(text: str) -> str:
    """``0a:1b:2c:3d`` → ``0A1B2C3D``; raises ValueError for anything that is not whole hex bytes."""
    uid = _SEPARATORS.sub("", text).upper()
    if not uid or not _HEX.match(uid) or len(uid) % 2:
        raise ValueError(f"a card uid is whole bytes of hex, not {text!r}")
    if len(uid) > 2 * MAX_UID_BYTES:
        raise ValueError(f"a card uid has at most {MAX_UID_BYTES} bytes")
    return uid


def uid_from_bytes(raw: bytes) -> str:
    return normalize_uid(raw.hex())

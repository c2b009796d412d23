"""Reason codes: the stable identifiers of every gate decision (DESIGN.md, "Reason codes").

They travel in events, are counted on the server and shown to people through the kk/ru/en catalogues;
never rename one.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    GRANTED = "granted"
    GRANTED_UNLISTED = "granted_unlisted"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY = "unknown_key"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    WRONG_PARK = "wrong_park"
    REVOKED = "revoked"
    ALREADY_INSIDE = "already_inside"
    ENTRIES_USED = "entries_used"
    CAPACITY_FULL = "capacity_full"
    UNKNOWN_CARD = "unknown_card"
    UNKNOWN_PLATE = "unknown_plate"
    PLATE_MISMATCH = "plate_mismatch"
    MANUAL = "manual"

    @property
    def admits(self) -> bool:
        return self in (Reason.GRANTED, Reason.GRANTED_UNLISTED, Reason.MANUAL)

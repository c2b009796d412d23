"""The contract between gate and server, and nothing else. Imports neither gate nor server."""

from __future__ import annotations

from protocol.cards import normalize_uid, uid_from_bytes
from protocol.errors import (
    BadSignature,
    KeyringError,
    MalformedToken,
    ProtocolError,
    TokenError,
    UnknownKey,
)
from protocol.keyring import Keyring, PublicKey, SigningKey
from protocol.permit import (
    Permit,
    VerifiedPermit,
    encode_token,
    new_permit_id,
    permit_id_bytes,
    permit_id_text,
    verify_token,
)
from protocol.plates import (
    COUNTRIES,
    GRAMMARS,
    PlateGrammar,
    PlateMatch,
    is_valid_plate,
    match_plate,
    match_two_rows,
    normalize_plate,
    two_row_layout,
)
from protocol.reasons import Reason
from protocol.schemas import (
    MAX_EVENTS_PER_BATCH,
    CardColumns,
    CardRole,
    CredentialKind,
    Direction,
    EventBatch,
    EventBatchResult,
    GateEvent,
    ParkSettings,
    PermitColumns,
    SyncPage,
    VehiclePassColumns,
    ZoneSettings,
)

__all__ = [
    "COUNTRIES",
    "GRAMMARS",
    "MAX_EVENTS_PER_BATCH",
    "BadSignature",
    "CardColumns",
    "CardRole",
    "CredentialKind",
    "Direction",
    "EventBatch",
    "EventBatchResult",
    "GateEvent",
    "Keyring",
    "KeyringError",
    "MalformedToken",
    "ParkSettings",
    "Permit",
    "PermitColumns",
    "PlateGrammar",
    "PlateMatch",
    "ProtocolError",
    "PublicKey",
    "Reason",
    "SigningKey",
    "SyncPage",
    "TokenError",
    "UnknownKey",
    "VehiclePassColumns",
    "VerifiedPermit",
    "ZoneSettings",
    "encode_token",
    "is_valid_plate",
    "match_plate",
    "match_two_rows",
    "new_permit_id",
    "normalize_plate",
    "normalize_uid",
    "permit_id_bytes",
    "permit_id_text",
    "two_row_layout",
    "uid_from_bytes",
    "verify_token",
]

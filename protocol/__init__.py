"""The contract between gate and server, and nothing else. Imports neither gate nor server."""

from __future__ import annotations

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
from protocol.reasons import Reason
from protocol.schemas import (
    MAX_EVENTS_PER_BATCH,
    CredentialKind,
    Direction,
    EventBatch,
    EventBatchResult,
    GateEvent,
    ParkSettings,
    PermitColumns,
    SyncPage,
)

__all__ = [
    "MAX_EVENTS_PER_BATCH",
    "BadSignature",
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
    "ProtocolError",
    "PublicKey",
    "Reason",
    "SigningKey",
    "SyncPage",
    "TokenError",
    "UnknownKey",
    "VerifiedPermit",
    "encode_token",
    "new_permit_id",
    "permit_id_bytes",
    "permit_id_text",
    "verify_token",
]

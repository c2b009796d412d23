"""What a reader puts on the credential queue: QR permits, RFID cards, licence plates."""

from __future__ import annotations

from dataclasses import dataclass

from protocol import CredentialKind


@dataclass(frozen=True)
class QrCredential:
    """The text of a QR code the camera saw."""

    text: str
    kind: CredentialKind = CredentialKind.PERMIT


@dataclass(frozen=True)
class CardCredential:
    """An RFID card's uid as the reader reports it (hex); ``reader`` names the reader that read it."""

    uid: str
    kind: CredentialKind = CredentialKind.CARD
    reader: str | None = None


@dataclass(frozen=True)
class PlateCredential:
    """A normalised licence plate read from a frame."""

    plate: str
    kind: CredentialKind = CredentialKind.PLATE


Credential = QrCredential | CardCredential | PlateCredential

"""What a reader puts on the credential queue: QR permits, RFID cards, licence plates, a ranger's manual open."""

from __future__ import annotations

from dataclasses import dataclass

from protocol import CredentialKind


@dataclass(frozen=True)
class QrCredential:
    """The text of a QR code the camera saw.

    ``plate`` is the plate a vehicle lane read in the last few seconds (set by the controller, never by the
    camera), so that decide() can check the permit was shown in the car it was issued for.
    """

    text: str
    kind: CredentialKind = CredentialKind.PERMIT
    plate: str | None = None


@dataclass(frozen=True)
class CardCredential:
    """An RFID card's uid as the reader reports it (hex); ``reader`` names the reader that read it."""

    uid: str
    kind: CredentialKind = CredentialKind.CARD
    reader: str | None = None


@dataclass(frozen=True)
class PlateCredential:
    """A licence plate the plate reader read and the frames agreed on (normalised, protocol.plates)."""

    plate: str
    confidence: float = 1.0
    country: str | None = None
    kind: CredentialKind = CredentialKind.PLATE


@dataclass(frozen=True)
class ManualCredential:
    """A ranger opening the barrier by hand: the reason is required and travels as the event's note.

    ``people`` is how many the ranger let through (counted like any entry or exit); ``plate`` names the
    vehicle when the ranger resolves a held plate.
    """

    reason: str
    people: int = 0
    plate: str | None = None
    kind: CredentialKind = CredentialKind.MANUAL


Credential = QrCredential | CardCredential | PlateCredential | ManualCredential

"""Read a permit the way a gate would and say what is in it: for a technician checking a camera or a
visitor's printout against the server's keys, with no gate software running."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from protocol import Keyring, KeyringError, TokenError, verify_token
from protocol.permit import PREFIX

VERIFIED = "signature ok"  # the one verdict on which a gate would go on to check the permit's claims


class InspectError(Exception):
    """Root of the errors of ``qaqpa-tools permit``."""


def load_keyring(source: str) -> Keyring:
    """A JWK Set from a server (``http…``, its ``/api/v1/keys`` is asked) or a JSON file."""
    try:
        if source.startswith(("http://", "https://")):
            url = source.rstrip("/")
            if not url.endswith("/api/v1/keys"):
                url += "/api/v1/keys"
            response = httpx.get(url, timeout=10)
            response.raise_for_status()
            jwks: Any = response.json()
        else:
            jwks = json.loads(Path(source).read_text())
        return Keyring.from_jwks(jwks)
    except (httpx.HTTPError, OSError, ValueError, KeyringError) as err:
        raise InspectError(f"cannot load keys from {source}: {err}") from err


def texts_in_image(path: Path) -> list[str]:
    """Every QR text zxing-cpp finds in an image file."""
    import cv2
    import zxingcpp

    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise InspectError(f"cannot read image {path}")
    return [
        b.text for b in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    ]


def _time(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def describe(text: str, keyring: Keyring | None) -> dict[str, Any]:
    """What a gate would see in ``text``: the verdict on the signature and, when it verifies, the claims."""
    if not text.startswith(PREFIX):
        return {"verdict": "malformed", "detail": "not a Qaqpa permit (no PK1: prefix)"}
    if keyring is None:
        return {"verdict": "unverified", "detail": "no keys given (--keys); the signature was not checked"}
    try:
        verified = verify_token(text, keyring)
    except TokenError as err:
        return {"verdict": err.reason.value, "detail": str(err)}
    permit = verified.permit
    return {
        "verdict": VERIFIED,
        "kid": verified.kid,
        "id": permit.id_text,
        "park": permit.park,
        "valid_from": _time(permit.valid_from),
        "valid_until": _time(permit.valid_until),
        "party": {"adults": permit.party[0], "children": permit.party[1], "exempt": permit.party[2]},
        "plate": permit.plate,
        "entries_per_day": permit.entries_per_day,
        "category": permit.category,
        "issued_at": _time(permit.issued_at),
    }

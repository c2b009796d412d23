from __future__ import annotations

import pytest

from protocol import normalize_uid, uid_from_bytes


@pytest.mark.parametrize(
    ("text", "uid"), [("0a1b2c3d4e", "0A1B2C3D4E"), ("04:A2:24:B1:C3:5D:80", "04A224B1C35D80"), (" 12-34 ", "1234")]
)
def test_normalize(text: str, uid: str) -> None:
    assert normalize_uid(text) == uid


@pytest.mark.parametrize("text", ["", "xyz", "123", "0x1234", "00" * 17])
def test_refuse(text: str) -> None:
    with pytest.raises(ValueError):
        normalize_uid(text)


def test_from_bytes() -> None:
    assert uid_from_bytes(bytes([4, 0xA2, 0x24, 0xB1])) == "04A224B1"

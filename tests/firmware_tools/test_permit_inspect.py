from __future__ import annotations

import json
from pathlib import Path

import pytest
import qrcode

from firmware_tools.cli import main
from protocol import Keyring, Permit, SigningKey, encode_token, new_permit_id


@pytest.fixture
def signed(tmp_path: Path) -> tuple[str, Path]:
    key = SigningKey.generate("k1")
    permit = Permit(new_permit_id(), "altyn-emel", 1_790_000_000, 1_790_086_400, (2, 0, 1), 1_789_000_000)
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(Keyring([key.public]).to_jwks()))
    return encode_token(permit, key), keys


def test_inspect_text_verifies_against_keys(signed: tuple[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    token, keys = signed
    assert main(["permit", "inspect", token, "--keys", str(keys)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["verdict"] == "signature ok"
    assert shown["park"] == "altyn-emel" and shown["party"] == {"adults": 2, "children": 0, "exempt": 1}


def test_inspect_image_reads_the_qr(
    signed: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token, keys = signed
    image = tmp_path / "permit.png"
    qrcode.make(token).save(image)
    assert main(["permit", "inspect", "--image", str(image), "--keys", str(keys)]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "signature ok"


def test_inspect_reports_a_forgery(signed: tuple[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    token, keys = signed
    other = Keyring([SigningKey.generate("k1").public])
    keys.write_text(json.dumps(other.to_jwks()))
    assert main(["permit", "inspect", token, "--keys", str(keys)]) == 1
    assert json.loads(capsys.readouterr().out)["verdict"] == "bad_signature"


@pytest.mark.parametrize(
    ("text", "verdict"), [("PK1:not-base45", "malformed"), ("hello", "malformed"), (None, "unverified")]
)
def test_inspect_exits_1_unless_the_permit_verifies(
    signed: tuple[str, Path], capsys: pytest.CaptureFixture[str], text: str | None, verdict: str
) -> None:
    token, keys = signed
    argv = ["permit", "inspect", text, "--keys", str(keys)] if text else ["permit", "inspect", token]
    assert main(argv) == 1
    assert json.loads(capsys.readouterr().out)["verdict"] == verdict


def test_unreadable_keys_are_a_clear_error(signed: tuple[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    token, keys = signed
    keys.write_text("not json")
    assert main(["permit", "inspect", token, "--keys", str(keys)]) == 2
    assert "cannot load keys" in capsys.readouterr().err

"""gate.toml loading with clear errors, UUIDv7 ids, and the qaqpa-gate command line."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from gate.cli import build_parser, main
from gate.config import config_from_dict, load_config
from gate.errors import ConfigError
from gate.ids import uuid7, uuid7_text
from protocol import Direction

TOML = """
[gate]
park = "altyn-emel"
name = "north-1"
direction = "exit"
data_dir = "var/gate"
clock_skew_s = 120
[server]
url = "http://127.0.0.1:8000"
device_token = "qd_abc"
sync_interval_s = 5
[camera]
source = "folder"
uri = "frames"
fps = 10
loop = true
[relay]
pin = 5
pulse_s = 0.5
"""


def test_load_config(tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(TOML)
    config = load_config(path)
    assert config.gate.direction is Direction.EXIT and config.gate.clock_skew_s == 120
    assert config.gate.data_dir == tmp_path / "var/gate"  # relative to the file
    assert config.gate.db_path == tmp_path / "var/gate/gate.db"
    assert config.server.sync_interval_s == 5.0 and config.server.upload_batch == 500
    assert config.camera.source == "folder" and config.camera.loop
    assert config.relay.pin == 5 and config.lights.green == 27


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gate": {"name": "n"}}, "gate.park is required"),
        ({"gate": {"park": "p", "name": "n", "direction": "sideways"}}, "gate.direction"),
        ({"gate": {"park": "p", "name": "n", "colour": "red"}}, "unknown key"),
        ({"gate": {"park": "p", "name": "n", "debounce_s": "soon"}}, "gate.debounce_s"),
        ({"camera": {"source": "webcam"}}, "camera.source"),
        ({"relay": {"pin": True}}, "relay.pin"),
        ({"extra": {}}, "unknown section"),
    ],
)
def test_bad_config_names_the_key(change: dict[str, object], message: str) -> None:
    data: dict[str, object] = {
        "gate": {"park": "p", "name": "n"},
        "server": {"url": "http://x", "device_token": "t"},
        **change,
    }
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data)


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "none.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[gate\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)


def test_uuid7_is_version_7_and_increasing() -> None:
    ids = [uuid7() for _ in range(2000)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert uuid.UUID(uuid7_text(1_750_000_000_000)).version == 7


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["run", "--help"], ["status", "--help"], ["resend", "--help"]):
        with pytest.raises(SystemExit) as exit_info:
            build_parser().parse_args(argv)
        assert exit_info.value.code == 0
        assert "usage:" in capsys.readouterr().out


def test_status_prints_the_store_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(TOML)
    assert main(["status", "--config", str(path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["events"] == 0 and summary["outbox"] == 0 and summary["cursor"] is None


def test_resend_on_a_gate_with_nothing_set_aside_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(TOML)
    assert main(["resend", "--config", str(path)]) == 0
    assert capsys.readouterr().out.startswith("0 set-aside events back in the outbox")


def test_bad_config_is_a_clear_exit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--config", str(tmp_path / "missing.toml")]) == 1
    assert "cannot read" in capsys.readouterr().err

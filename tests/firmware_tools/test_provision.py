"""``qaqpa-tools provision`` against a real server process."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import httpx
import pytest

from firmware_tools.cli import main
from firmware_tools.provision import Provisioned, ProvisionError, ReaderSpec, provision
from gate.config import load_config
from gate.store import GateStore
from protocol import Direction, Keyring
from sim.server_proc import ServerApi, ServerProcess
from tests.firmware_tools.conftest import PARK

pytestmark = pytest.mark.slow


def _sync_status(server: ServerProcess, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{server.url}/api/v1/gate/sync", params={"cursor": "0"}, headers=headers).status_code


def _provision(server: ServerProcess, out: Path, gate: str, force: bool = False) -> Provisioned:
    return provision(
        server.url, PARK, gate, user=server.admin_user, password=server.admin_password, out=out, force=force
    )


def test_provision_registers_the_gate_pins_the_keys_and_writes_a_private_gate_toml(
    tmp_path: Path, server: ServerProcess, api: ServerApi
) -> None:
    out = tmp_path / "etc" / "gate.toml"
    done = provision(
        server.url,
        PARK,
        "north-1",
        user=server.admin_user,
        password=server.admin_password,
        out=out,
        data_dir=tmp_path / "lib",
        direction=Direction.EXIT,
        camera=("folder", str(tmp_path / "frames")),
        readers=[ReaderSpec.parse("door,em4100,/dev/qaqpa-rfid0")],
    )
    assert done.gate_created and done.direction is Direction.EXIT
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    config = load_config(out)
    assert (config.gate.park, config.gate.name, config.gate.direction) == (PARK, "north-1", Direction.EXIT)
    assert config.gate.data_dir == (tmp_path / "lib").resolve()
    assert config.readers[0].port == "/dev/qaqpa-rfid0" and config.camera.source == "folder"
    assert (config.relay.pin, config.lights.green, config.lights.red) == (17, 27, 22)
    # the gate trusts the server's keys before it ever synced, and its first sync still starts at the beginning
    with GateStore(config.gate.db_path) as store:
        trusted = store.keyring().keys()
        pinned = sorted(key.kid for key in trusted)
        assert store.sync_state().last_sync_at is None
    published = Keyring.from_jwks(api.keys()).keys()
    assert pinned == sorted(key.kid for key in published)
    assert list(done.kids) == pinned
    assert _sync_status(server, config.server.device_token) == 200
    gates = api._call("GET", f"/parks/{PARK}/gates")
    assert {"slug": "north-1", "direction": "exit"}.items() <= next(g for g in gates if g["slug"] == "north-1").items()


def test_an_existing_gate_keeps_its_direction_and_a_new_token_replaces_the_old(
    tmp_path: Path, server: ServerProcess, api: ServerApi
) -> None:
    api.create_gate(PARK, "south-1", "South 1", "exit")
    first = tmp_path / "first.toml"
    done = _provision(server, first, "south-1")
    assert not done.gate_created and done.direction is Direction.EXIT
    old_token = load_config(first).server.device_token
    # again without --force: refused before a token is issued, so the old one still works
    with pytest.raises(ProvisionError, match="--force"):
        _provision(server, first, "south-1")
    assert _sync_status(server, old_token) == 200
    _provision(server, first, "south-1", force=True)
    new_token = load_config(first).server.device_token
    assert new_token != old_token
    assert _sync_status(server, old_token) == 401
    assert _sync_status(server, new_token) == 200


@pytest.mark.parametrize(
    ("park", "password", "message"),
    [(PARK, "wrong-password", "login as 'admin' refused"), ("no-such-park", None, "park 'no-such-park' is not on")],
)
def test_bad_credentials_or_an_unknown_park_write_nothing(
    tmp_path: Path, server: ServerProcess, park: str, password: str | None, message: str
) -> None:
    out = tmp_path / "gate.toml"
    with pytest.raises(ProvisionError, match=message):
        provision(server.url, park, "east-1", user="admin", password=password or server.admin_password, out=out)
    assert not out.exists()
    assert not (tmp_path / "data").exists()


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProvisionError, match="cannot reach"):
        provision("http://127.0.0.1:9", PARK, "g", user="admin", password="x", out=tmp_path / "gate.toml")


def test_reader_spec_is_checked() -> None:
    assert ReaderSpec.parse("door, osdp ,/dev/ttyAMA0") == ReaderSpec("door", "osdp", "/dev/ttyAMA0")
    with pytest.raises(ProvisionError, match="protocol"):
        ReaderSpec.parse("door,wiegand,/dev/ttyUSB0")
    with pytest.raises(ProvisionError, match="NAME,PROTOCOL,PORT"):
        ReaderSpec.parse("door")


def test_the_command_line_reads_the_password_from_stdin(
    tmp_path: Path, server: ServerProcess, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "gate.toml"
    monkeypatch.setattr("sys.stdin", io.StringIO(server.admin_password + "\n"))
    args = ["provision", "--server", server.url, "--park", PARK, "--gate", "west-1", "--direction", "entry"]
    args += ["--user", server.admin_user, "--password-stdin", "--out", str(out), "--reader", "door,em4100,/dev/x"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "west-1 (entry): created" in printed and f"qaqpa-tools check --config {out}" in printed
    assert load_config(out).gate.data_dir == (tmp_path / "data").resolve()
    monkeypatch.setattr("sys.stdin", io.StringIO(server.admin_password + "\n"))
    assert main(args) == 2  # exists: --force needed
    assert "--force" in capsys.readouterr().err

"""The permit-signing key on disk, its publication, and the settings' refusal of unsafe defaults."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from protocol import Keyring
from server import ConfigError, Settings, create_app
from server.signing import KEY_FILE, load_or_create_key
from tests.server.conftest import TestClient


def test_key_file_is_private_and_reused_on_restart(settings: Settings) -> None:
    first = create_app(settings)
    path = settings.data_dir / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    kid = first.state.signing_key.kid
    first.state.engine.dispose()

    second = create_app(settings)
    assert second.state.signing_key.kid == kid
    with TestClient(second) as client:
        jwks = client.get("/api/v1/keys").json()
    second.state.engine.dispose()
    keyring = Keyring.from_jwks(jwks)
    assert kid in keyring
    assert len(keyring) == 1


def test_a_second_process_with_its_own_key_publishes_both(settings: Settings, tmp_path: Path) -> None:
    one = create_app(settings)
    other = create_app(Settings.for_data_dir(tmp_path / "other", settings.database_url))
    with TestClient(one) as client:
        kids = {key["kid"] for key in client.get("/api/v1/keys").json()["keys"]}
    for app in (one, other):
        app.state.engine.dispose()
    assert kids == {one.state.signing_key.kid, other.state.signing_key.kid}


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    load_or_create_key(tmp_path)
    (tmp_path / KEY_FILE).chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_or_create_key(tmp_path)


def test_settings_default_to_var_and_production_needs_a_data_dir() -> None:
    settings = Settings.from_env(environ={})
    assert settings.data_dir == Path("var")
    assert settings.database_url.endswith("var/qaqpa.db")
    assert Settings.from_env(db="sqlite:///x.db", environ={"QAQPA_DATA_DIR": "/d"}).database_url == "sqlite:///x.db"
    with pytest.raises(ConfigError, match="QAQPA_DATA_DIR"):
        Settings.from_env(environ={"QAQPA_MODE": "production"})
    with pytest.raises(ConfigError, match="QAQPA_MODE"):
        Settings.from_env(environ={"QAQPA_MODE": "staging"})

"""``qaqpa-server``: user add through main() with stdin, migrate, and --help on every command."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from server.accounts import authenticate
from server.cli import main
from server.db import make_engine
from server.parks import create_park


def run(argv: list[str], stdin: str = "") -> int:
    return main(argv, io.StringIO(stdin))


def test_user_add_stores_an_argon2_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QAQPA_DATA_DIR", str(tmp_path))
    assert run(["user", "add", "aigerim", "--role", "admin", "--password-stdin"], "s3cret\n") == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'qaqpa.db'}")
    with engine.begin() as conn:
        stored = conn.execute(sa.text("SELECT password_hash FROM users")).scalar_one()
        assert stored.startswith("$argon2")
        assert authenticate(conn, "aigerim", "s3cret") is not None
        assert authenticate(conn, "aigerim", "s3cret\n") is None
    engine.dispose()


def test_user_add_refusals_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QAQPA_DATA_DIR", str(tmp_path))
    db = f"sqlite:///{tmp_path / 'qaqpa.db'}"
    assert run(["user", "add", "a", "--role", "admin", "--password-stdin"], "x\n") == 0
    cases = [
        (["user", "add", "a", "--role", "admin", "--password-stdin"], "y\n", "already exists"),
        (["user", "add", "b", "--role", "ranger", "--password-stdin"], "y\n", "give --park"),
        (["user", "add", "b", "--role", "ranger", "--park", "altyn", "--password-stdin"], "y\n", "no park"),
        (["user", "add", "b", "--role", "admin", "--park", "altyn", "--password-stdin"], "y\n", "belongs to no park"),
        (["user", "add", "b", "--role", "admin", "--password-stdin"], "\n", "must not be empty"),
        (["user", "add", "b", "--role", "admin"], "y\n", "--password-stdin"),
    ]
    for argv, stdin, message in cases:
        assert run([*argv, "--db", db], stdin) == 1, argv
        assert message in capsys.readouterr().err
    engine = make_engine(db)
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM users")).scalar_one() == 1
        create_park(conn, "altyn", "Altyn-Emel")
    engine.dispose()
    assert run(["user", "add", "b", "--role", "ranger", "--park", "altyn", "--password-stdin"], "y\n") == 0


def test_migrate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("QAQPA_DATA_DIR", str(tmp_path))
    assert run(["migrate"]) == 0
    assert (tmp_path / "qaqpa.db").exists()
    assert "newest schema" in capsys.readouterr().out


@pytest.mark.parametrize(
    "command", [[], ["serve"], ["migrate"], ["user"], ["user", "add"], ["slots"], ["slots", "list"], ["slots", "set"]]
)
def test_every_command_has_help(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", *command, "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "usage: qaqpa-server" in result.stdout
    assert len(result.stdout.splitlines()) > 3

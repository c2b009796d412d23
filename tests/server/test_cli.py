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
from server.parks import create_park, gate_for_device_token, get_park


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


def test_a_newcomer_sets_up_a_park_gate_and_ranger_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # the database comes from $QAQPA_DATABASE_URL, so no command repeats --db
    db = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("QAQPA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("QAQPA_DATABASE_URL", db)
    assert run(["park", "add", "altyn", "--name", "Altyn-Emel", "--capacity", "500"]) == 0
    assert run(["gate", "add", "altyn", "north", "--name", "North", "--direction", "entry", "--device-token"]) == 0
    out = capsys.readouterr().out
    token = out.split("device token: ")[1].strip()
    assert run(["user", "add", "ranger1", "--role", "ranger", "--park", "altyn", "--password-stdin"], "pw\n") == 0
    assert not (tmp_path / "data" / "qaqpa.db").exists()
    engine = make_engine(db)
    with engine.begin() as conn:
        park = get_park(conn, "altyn")
        assert (park.name, park.capacity) == ("Altyn-Emel", 500)
        gate = gate_for_device_token(conn, token)
        assert gate is not None and (gate.slug, gate.direction.value) == ("north", "entry")
    engine.dispose()


def test_park_and_gate_refusals_say_why_and_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QAQPA_DATA_DIR", str(tmp_path))
    assert run(["park", "add", "altyn", "--name", "Altyn-Emel"]) == 0
    cases = [
        (["park", "add", "altyn", "--name", "Again"], "already exists"),
        (["park", "add", "Bad Slug", "--name", "X"], "slug"),
        (["park", "add", "nul", "--name", "A\x00B"], "U+0000"),
        (["park", "add", "tz", "--name", "X", "--timezone", "Mars/Olympus"], "timezone"),
        (["park", "add", "neg", "--name", "X", "--capacity", "-1"], "capacity"),
        (["gate", "add", "nowhere", "g1", "--name", "G", "--direction", "entry"], "no park"),
        (["gate", "add", "altyn", "g1", "--name", "\u202eevil", "--direction", "entry"], "U+202E"),
    ]
    for argv, message in cases:
        assert run(argv) == 1, argv
        assert message in capsys.readouterr().err, argv
    engine = make_engine(f"sqlite:///{tmp_path / 'qaqpa.db'}")
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM parks")).scalar_one() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM gates")).scalar_one() == 0
    engine.dispose()


def test_migrate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("QAQPA_DATA_DIR", str(tmp_path))
    assert run(["migrate"]) == 0
    assert (tmp_path / "qaqpa.db").exists()
    assert "newest schema" in capsys.readouterr().out


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["migrate"],
        ["user"],
        ["user", "add"],
        ["park"],
        ["park", "add"],
        ["gate"],
        ["gate", "add"],
        ["slots"],
        ["slots", "list"],
        ["slots", "set"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", *command, "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "usage: qaqpa-server" in result.stdout
    assert len(result.stdout.splitlines()) > 3

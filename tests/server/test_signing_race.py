"""Server processes that start together share one signing key and publish it without failing.

Each trial forks real processes released at one moment (``tests.server.racing``): the races are between
processes, so threads would not show them. Before the key was written to a temporary file and renamed into
place, a process that found the file another had just created read it empty and refused to start (240 of
300 trials); before publishing was an insert that ignores a duplicate, the second of two processes
publishing one key failed on the primary key (49 of 50).
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from protocol import SigningKey
from server import ConfigError, Settings, create_app
from server.db import make_engine, upgrade
from server.signing import KEY_FILE, keyring, load_or_create_key, publish_key
from tests.server.racing import race

KEY_TRIALS = 100
PUBLISH_TRIALS = 30
START_TRIALS = 6


def _kid(data_dir: Path) -> str:
    return load_or_create_key(data_dir).kid


def _publish(url: str, kid: str, private: bytes) -> str:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            publish_key(conn, SigningKey.from_private_bytes(kid, private))
    finally:
        engine.dispose()
    return "published"


def _start(data_dir: Path) -> str:
    app = create_app(Settings.for_data_dir(data_dir))
    app.state.engine.dispose()
    kid: str = app.state.signing_key.kid
    return kid


def test_processes_creating_the_key_together_all_get_the_one_on_disk(tmp_path: Path) -> None:
    for trial in range(KEY_TRIALS):
        data_dir = tmp_path / f"trial-{trial}"
        outcomes = race(_kid, [(data_dir,)] * 4)
        assert outcomes == [f"ok {load_or_create_key(data_dir).kid}"] * 4, f"trial {trial}"
        assert [path.name for path in data_dir.iterdir() if path.name.startswith(KEY_FILE)] == [KEY_FILE]


def test_processes_publishing_one_key_together_all_succeed(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        kids = set()
        for trial in range(PUBLISH_TRIALS):
            key = SigningKey.generate()
            kids.add(key.kid)
            outcomes = race(_publish, [(db_url, key.kid, key.private_bytes())] * 2)
            assert outcomes == ["ok published"] * 2, f"trial {trial}"
        with engine.connect() as conn:
            published = keyring(conn)
        assert len(published) == len(kids) and all(kid in published for kid in kids)
    finally:
        engine.dispose()


def test_servers_starting_together_on_one_new_data_dir_all_start_with_one_key(tmp_path: Path) -> None:
    for trial in range(START_TRIALS):
        data_dir = tmp_path / f"trial-{trial}"
        outcomes = race(_start, [(data_dir,)] * 3)
        assert outcomes == [f"ok {load_or_create_key(data_dir).kid}"] * 3, f"trial {trial}"


def test_an_empty_key_file_from_an_older_version_is_replaced(tmp_path: Path) -> None:
    # the older version created the file, then died before writing: that key never signed anything
    path = tmp_path / KEY_FILE
    path.touch(mode=0o600)
    key = load_or_create_key(tmp_path)
    assert json.loads(path.read_text())["kid"] == key.kid
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(tmp_path).kid == key.kid


def test_a_damaged_key_file_stops_the_start_and_stays_as_it_was(tmp_path: Path) -> None:
    # a key that may have signed permits is never replaced behind the operator's back
    load_or_create_key(tmp_path)
    path = tmp_path / KEY_FILE
    damaged = path.read_bytes()[:20]
    path.write_bytes(damaged)
    with pytest.raises(ConfigError, match="restore it from a backup") as refused:
        load_or_create_key(tmp_path)
    assert str(path) in str(refused.value)
    assert path.read_bytes() == damaged

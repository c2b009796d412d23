"""The gate's store and data directory are readable by the gate's own account only (issue 17)."""

from __future__ import annotations

import stat
from pathlib import Path

from gate.private_files import private_dir
from gate.store import GateStore


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_store_is_private_with_its_journal_files(tmp_path: Path) -> None:
    data_dir = tmp_path / "gate"
    with GateStore(data_dir / "gate.db") as store:
        store.conn.execute("CREATE TABLE t (x)")  # WAL: the -wal and -shm files exist while it is open
        files = sorted(data_dir.iterdir())
        assert {p.name for p in files} == {"gate.db", "gate.db-wal", "gate.db-shm"}
        assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
    assert _mode(data_dir) == 0o700


def test_an_older_versions_readable_store_is_tightened_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "gate.db"
    GateStore(path).close()
    path.chmod(0o644)
    wal = tmp_path / "gate.db-wal"
    wal.touch(mode=0o644)  # as a power cut would leave it
    with GateStore(path):
        assert _mode(path) == 0o600
        assert _mode(wal) == 0o600


def test_the_data_directory_is_tightened_at_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "gate"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    private_dir(data_dir)  # what `qaqpa-gate run` does first
    assert _mode(data_dir) == 0o700
    private_dir(tmp_path / "new" / "gate")
    assert _mode(tmp_path / "new" / "gate") == 0o700

"""The server's own files are its alone: the data directory 0700, the files in it 0600.

They hold the permit-signing key, password hashes, session and device-token hashes and every permit's
token, so no other account on the host may read them. New ones are created with these modes whatever the
umask; existing ones (made by an older version, or copied in) are tightened when the server starts.
"""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from server.errors import ConfigError

DIR_MODE: Final = 0o700
FILE_MODE: Final = 0o600
# what SQLite writes beside a database file; it gives them the database file's mode when it creates them
SQLITE_SIDE_FILES: Final = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> None:
    """``path`` as a directory only its owner may enter: created so, or tightened if it exists."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    tighten(path)


def private_file(path: Path) -> None:
    """``path`` as a file only its owner may read: created empty with mode 0600 if missing, else tightened."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        tighten(path)
    except OSError as err:
        raise ConfigError(f"cannot create {path}: {err}") from err


def private_sqlite(database: Path) -> None:
    """A SQLite database file and the journal files beside it, readable by their owner only.

    Called before the first connection: creating the file ourselves (rather than letting SQLite create it
    with 0644) is what gives the journal files SQLite makes later the same private mode.
    """
    database.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    private_file(database)
    for suffix in SQLITE_SIDE_FILES:
        tighten(database.with_name(database.name + suffix))


def tighten(path: Path) -> None:
    """Take every permission of group and others away from ``path`` (nothing to do when it has none, or when
    there is no such file)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & 0o700)
    except FileNotFoundError:
        return
    except OSError as err:
        raise ConfigError(f"cannot make {path} private to its owner (chmod go-rwx): {err}") from err


@contextmanager
def locked(path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on the private file ``path`` (created 0600) while the block runs: processes that
    start together on one data directory take turns at ``what``. No timeout, like PostgreSQL's advisory lock:
    the process holding it may be migrating a large database."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError as err:
        raise ConfigError(f"cannot open the lock for {what} {path}: {err}") from err
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock

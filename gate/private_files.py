"""The gate's data directory is the gate's alone: the directory 0700, the store's files 0600.

The store holds the synced permits (their tokens admit people), card UIDs and holders' names, vehicle
plates and the event outbox; the data directory also keeps the crops of plates the gate could not read.
New files and directories are created with these modes whatever the umask; existing ones (made by an
older version) are tightened when the gate starts. Errors are ``OSError``: the caller names what failed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

DIR_MODE: Final = 0o700
FILE_MODE: Final = 0o600
# what SQLite writes beside a database file; it gives them the database file's mode when it creates them
SQLITE_SIDE_FILES: Final = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> None:
    """``path`` as a directory only its owner may enter: created so, or tightened if it exists."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    tighten(path)


def private_sqlite(database: Path) -> None:
    """A SQLite database file (created empty if missing, in a new 0700 directory if that is missing too)
    and the journal files beside it, readable by their owner only.

    Call it before the first connection: a file SQLite creates itself is 0644, and the journal files it
    makes later take the database file's mode.
    """
    database.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        tighten(database)
    for suffix in SQLITE_SIDE_FILES:
        tighten(database.with_name(database.name + suffix))


def tighten(path: Path) -> None:
    """Take every permission of group and others away from ``path`` (nothing to do when it has none, or
    when there is no such file)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        path.chmod(mode & 0o700)
